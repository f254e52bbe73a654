import type { Queue } from 'bull';
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
