/**
 * Delay before attempt `attempt + 1` of a job (export or import), ms: base × 2^(attempt − 1), at
 * most `max`, with "equal jitter" (half fixed, half random) so that jobs failing together do not
 * retry together.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
