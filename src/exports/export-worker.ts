import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { isJobLost, JobDrain, LatestRuns, SecretBox, WaitTurnError } from '../common';
import { exportsConfig, ExportsConfig, redisConfig, RedisConfig } from '../config';
import { EXPORT_JOB, EXPORT_QUEUE, ExportJobData } from './exports.constants';
import { ExportRunner } from './export-runner';
import { ExportsRepository } from './exports.repository';
import { ExportsService } from './exports.service';
import { ExportCheckpointsRepository } from './export-checkpoints.repository';
import type { S3Credentials } from '../s3';
import { Metrics } from '../metrics';

/**
 * The export worker: takes `export-to-s3` jobs from Bull and hands them to ExportRunner.
 * A worker that dies mid-export leaves its job's lock to expire; Bull's stalled-job check (in any
 * live worker) puts the job back and it continues from its checkpoint, up to EXPORT_MAX_STALLED_COUNT
 * times, after which the export is Failed. A transient failure puts the job back delayed (the
 * `export` backoff strategy) until the export's retry budget is spent.
 *
 * PostgreSQL is the source of truth: at start-up and then every EXPORT_SWEEP_INTERVAL_MS, exports
 * of this deployment (its QUEUE_PREFIX) still Pending or Running whose job is gone from Redis (flushed, lost, or never queued because
 * Redis was down when the export was created) are queued again, so an export answered 201 always
 * runs. With several workers sweeping at once nothing runs twice: the job id is the export id, so
 * a second add is a no-op; jobs waiting, delayed, or active (also those whose worker died, which
 * Bull's stalled check handles) are left alone; and a job that runs for an export already Complete
 * or Failed does nothing (ExportCheckpointsRepository.claim).
 *
 * The same sweep aborts the multipart uploads still recorded for exports that ended (a worker
 * stopped between marking an export Failed and aborting its upload, or a cancel of an export whose
 * worker is gone), so no incomplete upload is left in a customer's bucket.
 */
@Injectable()
export class ExportWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ExportWorker.name);
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private readonly latestRuns = new LatestRuns();
  /** The jobs this worker runs, for a graceful shutdown (docs/shutdown.md). */
  readonly drain: JobDrain;

  constructor(
    @InjectQueue(EXPORT_QUEUE) private readonly queue: Queue<ExportJobData>,
    private readonly runner: ExportRunner,
    private readonly exports: ExportsRepository,
    private readonly service: ExportsService,
    private readonly checkpoints: ExportCheckpointsRepository,
    private readonly secretBox: SecretBox,
    @Inject(exportsConfig.KEY) private readonly exportsConfig: ExportsConfig,
    @Inject(redisConfig.KEY) private readonly redisConfig: RedisConfig,
    private readonly metrics: Metrics,
  ) {
    this.drain = new JobDrain(queue, 'export', this.logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.queue.on('failed', (job: Job<ExportJobData>, error: Error) => void this.onFailed(job, error));
    void this.queue.process(EXPORT_JOB, this.exportsConfig.concurrency, (job: Job<ExportJobData>) =>
      this.drain.process(job, (release) => this.handle(job.data.exportId, release)),
    );
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.exportsConfig.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Runs one job's attempt (see LatestRuns: a superseded attempt's job outlives it); `release` stops it at its next checkpoint. */
  private handle(exportId: string, release: AbortSignal): Promise<void> {
    return this.latestRuns.run(exportId, () => this.runner.run(exportId, release));
  }

  onModuleDestroy(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /** One sweep at a time; a sweep that fails (PostgreSQL or Redis down) is logged and tried at the next interval. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.drain.stopped) return;
    this.sweeping = true;
    try {
      await this.requeueOrphans();
      await this.abortOrphanedUploads();
    } catch (error) {
      this.logger.warn(`export sweep failed (${(error as Error).message}); next try in ${this.exportsConfig.sweepIntervalMs} ms`);
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Bull emits `failed` for every failed run, also those it will run again. Only a job that
   * stalled too often is over (its export is then Failed); ExportRunner has already recorded any
   * other end, and its transient failures come back after their delay.
   */
  private async onFailed(job: Job<ExportJobData>, error: Error): Promise<void> {
    if (error instanceof WaitTurnError) return; // back after 0.5–1 s, nothing to say
    if (!/stalled more than allowable limit/i.test(error.message)) {
      if (error.name !== 'ExportRetryLaterError')
        this.logger.warn(`export job ${job.id} failed: ${error.message}; it runs again after a delay`);
      return;
    }
    const reason = 'The export was interrupted too many times (its worker stopped); it was not completed.';
    this.logger.warn({
      msg: `export job ${job.id} stalled too many times`,
      event: 'export.failed',
      exportId: job.data.exportId,
      error: reason,
    });
    try {
      await this.checkpoints.fail(job.data.exportId, reason);
      this.metrics.exportEnded('failed', null);
      await this.abortUpload(job.data.exportId);
    } catch (e) {
      this.logger.error(`could not mark export ${job.data.exportId} failed: ${(e as Error).message}`);
    }
  }

  /** Aborts the uploads of ended exports that are still open (at most 100 per sweep). */
  private async abortOrphanedUploads(): Promise<void> {
    for (const { exportId, credentials } of await this.checkpoints.openUploadsOfEnded(this.redisConfig.queuePrefix)) {
      await this.abortUpload(exportId, credentials);
      this.logger.warn(`export ${exportId} had ended with its upload open; aborted it`);
    }
  }

  /** Aborts an ended export's upload with its (sealed) credentials, read here unless the caller has them. */
  private async abortUpload(exportId: string, known?: string | null): Promise<void> {
    const sealed = known !== undefined ? known : await this.checkpoints.credentialsOf(exportId);
    let credentials: S3Credentials | null;
    try {
      credentials = sealed ? (JSON.parse(this.secretBox.decrypt(sealed)) as S3Credentials) : null;
    } catch {
      credentials = null; // unreadable (SECRETS_KEY changed): the upload cannot be aborted from here
    }
    await this.runner.closeUpload(exportId, credentials);
  }

  /**
   * Queues every unfinished export whose job is missing, finished, or 'stuck' (its key survives but
   * it is in no list, so nothing would ever take it). Each Redis call waits at most REDIS_COMMAND_TIMEOUT_MS.
   */
  private async requeueOrphans(): Promise<void> {
    for (const id of await this.exports.unfinishedIds(this.redisConfig.queuePrefix)) {
      try {
        if (await isJobLost(this.queue, id, this.redisConfig.commandTimeoutMs)) {
          await this.service.enqueue(id);
          this.logger.warn(`export ${id} had no live job; queued it again`);
        }
      } catch (error) {
        // One export's trouble (its job locked while being removed, say) does not hold up the rest of the sweep.
        this.logger.warn(`export sweep: export ${id}: ${(error as Error).message}`);
      }
    }
  }
}
