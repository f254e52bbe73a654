/**
 * Delay before attempt `attempt + 1` of a job (export or import), ms: base × 2^(attempt − 1), at
 * most `max`, with "equal jitter" (half fixed, half random) so that jobs failing together do not
 * retry together.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The delay of a Bull job's backoff strategy (exports and imports), ms: the one the runner chose
 * (an error carrying `delayMs`, from retryDelayMs), else, for an error before the runner could
 * choose (PostgreSQL down before the record was claimed), base × 2^(attemptsMade − 1) up to `maxMs`.
 */
export function jobRetryDelayMs(attemptsMade: number, error: Error, delays: { retryBaseDelayMs: number; retryMaxDelayMs: number }): number {
  const chosen = (error as { delayMs?: unknown } | undefined)?.delayMs;
  if (typeof chosen === 'number') return chosen;
  return Math.min(delays.retryMaxDelayMs, delays.retryBaseDelayMs * 2 ** Math.min(20, Math.max(0, attemptsMade - 1)));
}
