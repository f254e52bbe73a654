import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { withTimeout } from '../common/dependency-errors';
import { AppConfig } from '../config/app.config';
import { EXPORT_JOB, EXPORT_QUEUE, ExportJobData } from './exports.constants';
import { ExportRunner } from './export-runner';
import { ExportsRepository } from './exports.repository';
import { ExportsService } from './exports.service';

/**
 * The export worker: takes `export-to-s3` jobs from Bull and hands them to ExportRunner.
 * A worker that dies mid-export leaves its job's lock to expire; Bull's stalled-job check (in any
 * live worker) puts the job back and it runs again from the start, up to EXPORT_MAX_STALLED_COUNT
 * times, after which the export is Failed.
 *
 * PostgreSQL is the source of truth: at start-up and then every EXPORT_SWEEP_INTERVAL_MS, exports
 * still Pending or Running whose job is gone from Redis (flushed, lost, or never queued because
 * Redis was down when the export was created) are queued again, so an export answered 201 always
 * runs. With several workers sweeping at once nothing runs twice: the job id is the export id, so
 * a second add is a no-op; jobs waiting, delayed, or active (also those whose worker died, which
 * Bull's stalled check handles) are left alone; and a job that runs for an export already Complete
 * or Failed does nothing (ExportsRepository.start).
 */
@Injectable()
export class ExportsProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ExportsProcessor.name);
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;

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
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.config.exportSweepIntervalMs);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /** One sweep at a time; a sweep that fails (PostgreSQL or Redis down) is logged and tried at the next interval. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.requeueOrphans();
    } catch (error) {
      this.logger.warn(`export sweep failed (${(error as Error).message}); next try in ${this.config.exportSweepIntervalMs} ms`);
    } finally {
      this.sweeping = false;
    }
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

  /**
   * Queues every unfinished export whose job is missing, finished, or 'stuck' (its key survives but
   * it is in no list, so nothing would ever take it). Each Redis call waits at most REDIS_COMMAND_TIMEOUT_MS.
   */
  private async requeueOrphans(): Promise<void> {
    const ms = this.config.redisCommandTimeoutMs;
    const bounded = <T>(operation: Promise<T>): Promise<T> =>
      withTimeout(operation, ms, () => new Error(`Redis did not answer within ${ms} ms`));
    for (const id of await this.exports.unfinishedIds()) {
      const job = await bounded(this.queue.getJob(id));
      const state = job ? await bounded(job.getState()) : null;
      if (!job || state === 'completed' || state === 'failed' || state === 'stuck') {
        if (job) await bounded(job.remove());
        await this.service.enqueue(id);
        this.logger.warn(`export ${id} had no live job; queued it again`);
      }
    }
  }
}
