import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { AppConfig } from '../config/app.config';
import { EXPORT_JOB, EXPORT_QUEUE, ExportJobData } from './exports.constants';
import { ExportRunner } from './export-runner';
import { ExportsRepository } from './exports.repository';
import { ExportsService } from './exports.service';

/**
 * The export worker: takes `export-to-s3` jobs from Bull and hands them to ExportRunner.
 * A worker that dies mid-export leaves its job's lock to expire; Bull's stalled-job check (in any
 * live worker) puts the job back and it runs again from the start, up to EXPORT_MAX_STALLED_COUNT
 * times, after which the export is Failed. At start-up, exports still Pending or Running whose job
 * is gone from Redis (flushed, lost) are queued again, so monitoring never shows a stuck export.
 */
@Injectable()
export class ExportsProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(ExportsProcessor.name);

  constructor(
    @InjectQueue(EXPORT_QUEUE) private readonly queue: Queue<ExportJobData>,
    private readonly runner: ExportRunner,
    private readonly exports: ExportsRepository,
    private readonly service: ExportsService,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.queue.on('failed', (job: Job<ExportJobData>, error: Error) => void this.onFailed(job, error));
    void this.queue.process(EXPORT_JOB, this.config.exportConcurrency, (job: Job<ExportJobData>) =>
      this.runner.run(job.data.exportId),
    );
    await this.requeueOrphans();
  }

  private async onFailed(job: Job<ExportJobData>, error: Error): Promise<void> {
    const stalled = /stalled/i.test(error.message);
    this.logger.warn(`export job ${job.id} failed: ${error.message}`);
    await this.exports
      .fail(
        job.data.exportId,
        stalled
          ? 'The export was interrupted too many times (its worker stopped); it was not completed.'
          : 'The export failed unexpectedly. The failure was logged for the operator.',
      )
      .catch((e: Error) => this.logger.error(`could not mark export ${job.data.exportId} failed: ${e.message}`));
  }

  private async requeueOrphans(): Promise<void> {
    for (const id of await this.exports.unfinishedIds()) {
      const job = await this.queue.getJob(id);
      const state = job ? await job.getState() : null;
      if (!job || state === 'completed' || state === 'failed') {
        await job?.remove();
        this.logger.warn(`export ${id} had no live job; queued it again`);
        await this.service.enqueue(id);
      }
    }
  }
}
