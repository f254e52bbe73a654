import { DynamicModule, Module } from '@nestjs/common';
import { ExportQueueModule } from './export-queue.module';
import { ExportReadPool } from './export-read-pool';
import { EventReader } from './event-reader';
import { ExportCheckpointsRepository } from './export-checkpoints.repository';
import { ExportRunner } from './export-runner';
import { ExportListController, ExportsController } from './exports.controller';
import { ExportWorker } from './export-worker';
import { ExportsRepository } from './exports.repository';
import { ExportsService } from './exports.service';

/** Small exports, S3 exports and their monitor; the worker's providers only where it runs. */
@Module({})
export class ExportsModule {
  static register(options: { http: boolean; worker: boolean }): DynamicModule {
    return {
      module: ExportsModule,
      imports: [ExportQueueModule],
      controllers: options.http ? [ExportsController, ExportListController] : [],
      providers: [
        ExportsService,
        ExportsRepository,
        ExportReadPool,
        EventReader,
        ...(options.worker ? [ExportRunner, ExportWorker, ExportCheckpointsRepository] : []),
      ],
    };
  }
}
