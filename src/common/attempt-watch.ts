/** How often a running job checks that it was not cancelled or taken over, and that it still makes progress, ms. */
const WATCH_INTERVAL_MS = 1_000;

/** What an AttemptWatch stops an attempt with. */
export interface AttemptWatchErrors {
  /** Nothing moved for `ms`: the attempt is abandoned (and retried). */
  stalled(ms: number): Error;
  /** The record is no longer Running (cancelled). */
  cancelled(): Error;
  /** A later attempt took the record over. */
  superseded(): Error;
}

/**
 * Watches one attempt of a job (an S3 export or an import): cancels it when its record is no longer
 * Running (a DELETE cancelled it) and abandons it when nothing moved (no row read or written, no S3
 * answer) for EXPORT_STALL_TIMEOUT_MS, whatever
 * hangs: a PostgreSQL connection that died without an error, an S3 request, a DNS lookup.
 * Everything the attempt waits on listens to `signal`.
 */
export class AttemptWatch {
  private readonly controller = new AbortController();
  private lastProgress = Date.now();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(stallTimeoutMs: number, ownership: () => Promise<'running' | 'ended' | 'superseded'>, errors: AttemptWatchErrors) {
    this.timer = setInterval(
      () => {
        if (Date.now() - this.lastProgress > stallTimeoutMs) {
          this.abort(errors.stalled(stallTimeoutMs));
          return;
        }
        if (this.polling) return;
        this.polling = true;
        ownership()
          .then((state) => {
            if (state === 'ended') this.abort(errors.cancelled());
            if (state === 'superseded') this.abort(errors.superseded());
          })
          .catch(() => undefined) // PostgreSQL unreachable: the attempt's own statements will say so
          .finally(() => (this.polling = false));
      },
      Math.min(WATCH_INTERVAL_MS, stallTimeoutMs),
    );
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Something moved: a row batch read, an S3 answer, a checkpoint written. */
  tick(): void {
    this.lastProgress = Date.now();
  }

  abort(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** The reason the attempt was stopped, if it was; else `error` itself. */
  reasonFor(error: unknown): unknown {
    return this.controller.signal.aborted ? this.controller.signal.reason : error;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
