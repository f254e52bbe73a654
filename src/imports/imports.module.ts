import { DynamicModule, Module } from '@nestjs/common';
import { EventWriterModule } from '../events';
import { ImportQueueModule } from './import-queue.module';
import { ImportRunner } from './import-runner';
import { ImportsController } from './imports.controller';
import { ImportWorker } from './import-worker';
import { ImportsRepository } from './imports.repository';
import { ImportsService } from './imports.service';

/** Bulk imports from S3 (docs/imports.md): the API where HTTP runs, the worker's providers where it runs. */
@Module({})
export class ImportsModule {
  static register(options: { http: boolean; worker: boolean }): DynamicModule {
    return {
      module: ImportsModule,
      imports: [ImportQueueModule, EventWriterModule],
      controllers: options.http ? [ImportsController] : [],
      providers: [
        ImportsService,
        ImportsRepository,
        // Lines are stored by the same statement as pushes (EventWriterModule).
        ...(options.worker ? [ImportRunner, ImportWorker] : []),
      ],
    };
  }
}
