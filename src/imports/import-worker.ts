import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { isJobLost, JobDrain, LatestRuns, WaitTurnError } from '../common';
import { ExportsConfig, exportsConfig, importsConfig, ImportsConfig, redisConfig, RedisConfig } from '../config';
import { Metrics } from '../metrics';
import { IMPORT_JOB, IMPORT_QUEUE, ImportJobData } from './imports.constants';
import { ImportRunner } from './import-runner';
import { ImportsRepository } from './imports.repository';
import { ImportsService } from './imports.service';

/**
 * The import worker: takes `import-from-s3` jobs from Bull and hands them to ImportRunner. A worker
 * that dies mid-import leaves its job's lock to expire; Bull's stalled-job check puts it back and it
 * continues after the last committed batch, up to EXPORT_MAX_STALLED_COUNT times, after which the
 * import is Failed. At start-up and every EXPORT_SWEEP_INTERVAL_MS, this deployment's unfinished
 * imports whose job is gone from Redis are queued again (jobId = import id, so nothing runs twice).
 */
@Injectable()
export class ImportWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ImportWorker.name);
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private readonly latestRuns = new LatestRuns();
  /** The jobs this worker runs, for a graceful shutdown (docs/shutdown.md). */
  readonly drain: JobDrain;

  constructor(
    @InjectQueue(IMPORT_QUEUE) private readonly queue: Queue<ImportJobData>,
    private readonly runner: ImportRunner,
    private readonly imports: ImportsRepository,
    private readonly service: ImportsService,
    @Inject(importsConfig.KEY) private readonly importsConfig: ImportsConfig,
    @Inject(exportsConfig.KEY) private readonly exportsConfig: ExportsConfig,
    @Inject(redisConfig.KEY) private readonly redisConfig: RedisConfig,
    private readonly metrics: Metrics,
  ) {
    this.drain = new JobDrain(queue, 'import', this.logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.queue.on('failed', (job: Job<ImportJobData>, error: Error) => void this.onFailed(job, error));
    void this.queue.process(IMPORT_JOB, this.importsConfig.concurrency, (job: Job<ImportJobData>) =>
      this.drain.process(job, (release) => this.latestRuns.run(job.data.importId, () => this.runner.run(job.data.importId, release))),
    );
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.exportsConfig.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /** Only a job that stalled too often is over (its import is then Failed); ImportRunner recorded any other end. */
  private async onFailed(job: Job<ImportJobData>, error: Error): Promise<void> {
    if (error instanceof WaitTurnError) return; // back after 0.5–1 s, nothing to say
    if (!/stalled more than allowable limit/i.test(error.message)) {
      if (error.name !== 'ImportRetryLaterError')
        this.logger.warn(`import job ${job.id} failed: ${error.message}; it runs again after a delay`);
      return;
    }
    const reason = 'The import was interrupted too many times (its worker stopped); it was not completed.';
    this.logger.warn({
      msg: `import job ${job.id} stalled too many times`,
      event: 'import.failed',
      importId: job.data.importId,
      error: reason,
    });
    try {
      await this.imports.fail(job.data.importId, reason);
      this.metrics.importEnded('failed', null);
    } catch (e) {
      this.logger.error(`could not mark import ${job.data.importId} failed: ${(e as Error).message}`);
    }
  }

  /** Queues every unfinished import whose job is lost; one sweep at a time, a failed sweep is tried at the next interval. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.drain.stopped) return;
    this.sweeping = true;
    try {
      for (const id of await this.imports.unfinishedIds(this.redisConfig.queuePrefix)) {
        try {
          if (await isJobLost(this.queue, id, this.redisConfig.commandTimeoutMs)) {
            await this.service.enqueue(id);
            this.logger.warn(`import ${id} had no live job; queued it again`);
          }
        } catch (error) {
          this.logger.warn(`import sweep: import ${id}: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      this.logger.warn(`import sweep failed (${(error as Error).message}); next try in ${this.exportsConfig.sweepIntervalMs} ms`);
    } finally {
      this.sweeping = false;
    }
  }
}
