import type { Logger } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { withTimeout } from './dependency-errors';

/** How long `isJobLost` waits before reading a 'stuck' job's state again, ms. */
const STUCK_RECHECK_MS = 200;

/**
 * Whether the job with id `jobId` (a job per record: export or import id) is gone for good, so
 * the record's sweep must queue it again: missing, completed, failed, or 'stuck' (its key survives
 * but it is in no list, so nothing would ever take it; such a job is removed here). Jobs waiting,
 * delayed, or active (also those whose worker died, which Bull's stalled check handles) are left
 * alone. Each Redis call waits at most `timeoutMs`.
 * @throws Error when Redis does not answer in time; Redis errors as they are.
 */
export async function isJobLost(queue: Queue, jobId: string, timeoutMs: number): Promise<boolean> {
  const bounded = <T>(operation: Promise<T>): Promise<T> =>
    withTimeout(operation, timeoutMs, () => new Error(`Redis did not answer within ${timeoutMs} ms`));
  const job = await bounded(queue.getJob(jobId));
  const state = job ? await bounded(job.getState()) : null;
  if (job && state === 'stuck') {
    // getState reads the job's lists one after another: a job moving from waiting to active in
    // between reads as 'stuck'. Only one that is still in no list a moment later is lost.
    await new Promise((resolve) => setTimeout(resolve, STUCK_RECHECK_MS));
    const again = await bounded(job.getState());
    if (again !== 'stuck') return false;
  }
  if (job && state !== 'completed' && state !== 'failed' && state !== 'stuck') return false;
  if (job) await bounded(job.remove());
  return true;
}

/**
 * Runs a record's attempts so that a superseded one's job outlives it. When a later job for the
 * same record started in this process meanwhile (Redis lost the job and the sweep queued it again
 * while this attempt ran), the earlier attempt was superseded; its job has the same id and lock
 * token as the later one, so it resolves only once the later attempt has ended. Resolving at once
 * would mark the later job completed while its attempt still runs: the sweep would queue the
 * record again, the next attempt would supersede that one, and so on until the attempts ran out.
 */
export class LatestRuns {
  private readonly latest = new Map<string, Promise<void>>();

  async run(id: string, attempt: () => Promise<void>): Promise<void> {
    const run = attempt();
    this.latest.set(id, run);
    try {
      await run;
    } finally {
      for (let later = this.latest.get(id); later && later !== run;) {
        const current: Promise<void> = later;
        await current.catch(() => undefined);
        const next = this.latest.get(id);
        later = next === current ? undefined : next;
      }
      if (this.latest.get(id) === run) this.latest.delete(id);
    }
  }
}

/**
 * Thrown by an attempt (ExportRunner, ImportRunner) that stopped at a checkpoint because its worker
 * is shutting down (docs/shutdown.md): nothing failed, and the attempt is not counted; its job goes
 * back to the queue for another worker.
 */
export class JobReleasedError extends Error {
  override name = 'JobReleasedError';
}

/** Bull's Lua command that moves an active job back to the wait list (lib/commands/retryJob-7.lua), as Bull loads it. */
interface BullScripts {
  retryJob(...args: string[]): Promise<number>;
}

/**
 * Gives a job this worker holds back to the queue, untouched: atomically off the active list (only
 * while this worker holds its lock), onto the end of the wait list that workers take from next, lock
 * removed. Its attempts made, failed reason and stalled count stay as they were, so another worker
 * takes it at once and it counts neither as failed nor as stalled. Bull's `moveToFailed` would
 * count an attempt; leaving the job to the stalled check would count a stall (EXPORT_MAX_STALLED_COUNT)
 * and wait for the lock to expire.
 * The job's processor must then never settle: settling would make Bull complete or fail a job that
 * is no longer this worker's (JobDrain).
 * @returns 0 when given back; Bull's negative codes otherwise (-1 the job is gone, -2/-6 its lock is
 * no longer this worker's, -3 it is not active).
 */
export async function giveJobBack(queue: Queue, job: Job): Promise<number> {
  const internals = queue as unknown as { client: BullScripts; token: string; toKey(name: string): string };
  const id = String(job.id);
  const keys = ['active', 'wait', id, 'meta-paused', 'paused', 'stalled', 'priority'].map((name) => internals.toKey(name));
  // Workers take jobs from the right-hand end of the wait list: RPUSH puts this one first in line.
  return internals.client.retryJob(...keys, 'RPUSH', id, internals.token);
}

/**
 * A worker's running jobs, so that it can stop gracefully (docs/shutdown.md): `stopTaking` pauses
 * this worker's intake (other workers go on), `release` asks every running attempt to stop at its
 * next checkpoint, and an attempt that did (JobReleasedError) has its job given back (giveJobBack).
 * `idle` resolves once every job this worker took is finished in Redis (completed or failed, as
 * Bull recorded it) or given back.
 */
export class JobDrain {
  /** By Bull's Job object: a job lost and queued again while it ran has two processors at once, with one id. */
  private readonly running = new Map<Job, { release: AbortController; ended: () => void; done: Promise<void> }>();
  private stopping = false;

  /** Whether `stopTaking` was called: the worker is shutting down. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** @param kind `export` or `import`, for log lines. */
  constructor(
    private readonly queue: Queue,
    readonly kind: string,
    private readonly logger: Logger,
  ) {
    // Bull records a job's end (moveToCompleted / moveToFailed) after its processor settled; only then is it no longer this worker's.
    const recorded = (job: Job) => this.running.get(job)?.ended();
    queue.on('completed', recorded);
    queue.on('failed', recorded);
  }

  /**
   * The processor of one job: runs `attempt` with a signal that `release` aborts. When the attempt
   * was released, or the job arrived while the worker stops, the job is given back and the returned
   * promise never settles (see giveJobBack).
   */
  async process(job: Job, attempt: (release: AbortSignal) => Promise<void>): Promise<void> {
    const id = String(job.id);
    const release = new AbortController();
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const entry = {
      release,
      done,
      ended: () => {
        this.running.delete(job);
        resolve();
      },
    };
    this.running.set(job, entry);
    try {
      if (this.stopping) throw new JobReleasedError(`${this.kind} job ${id} arrived while the worker stops`);
      await attempt(release.signal);
    } catch (error) {
      if (!(error instanceof JobReleasedError)) throw error;
      await this.giveBack(job).finally(() => entry.ended());
      return new Promise<never>(() => undefined);
    }
  }

  private async giveBack(job: Job): Promise<void> {
    try {
      const code = await giveJobBack(this.queue, job);
      if (code === 0) this.logger.log(`shutdown: released ${this.kind} job ${job.id}; another worker continues it from its checkpoint`);
      else this.logger.warn(`shutdown: ${this.kind} job ${job.id} was no longer this worker's to release (Bull code ${code})`);
    } catch (error) {
      this.logger.warn(
        `shutdown: could not release ${this.kind} job ${job.id} (${(error as Error).message}); it runs again once its lock expires`,
      );
    }
  }

  /** Ids of the jobs this worker holds. */
  jobIds(): string[] {
    return [...this.running.keys()].map((job) => String(job.id));
  }

  /** Stops this worker taking jobs (Bull's local pause, not waiting for the jobs running). */
  async stopTaking(): Promise<void> {
    this.stopping = true;
    await this.queue.pause(true, true);
  }

  /** Asks every running attempt to stop at its next checkpoint and give its job back. */
  release(): void {
    for (const { release } of this.running.values()) release.abort();
  }

  /** Resolves once no job is held: each finished (as Bull recorded it) or given back. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Closes the queue's connections without waiting for processors (a released job's never settles). */
  close(): Promise<void> {
    return this.queue.close(true);
  }
}
