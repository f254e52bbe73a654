/** Nearest-rank percentile of a sample (p in 0–100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50 and p95 of durations (ms), rounded to 0.01 ms, and the raw sample. */
export interface Latency {
  p50Ms: number;
  p95Ms: number;
  samplesMs: number[];
}

export function latency(samplesMs: number[]): Latency {
  const round = (x: number): number => Math.round(x * 100) / 100;
  return { p50Ms: round(percentile(samplesMs, 50)), p95Ms: round(percentile(samplesMs, 95)), samplesMs: samplesMs.map(round) };
}

/** Milliseconds since `start` (a `performance.now()` value). */
export function since(start: number): number {
  return performance.now() - start;
}

/** A ratio rounded to 3 decimals (finite inputs give a finite ratio; 0/0 gives NaN, left as is to be noticed). */
export function ratio(numerator: number, denominator: number): number {
  return Math.round((numerator / denominator) * 1000) / 1000;
}

/** Runs `task` over `items` with at most `concurrency` in flight; results in input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i], i);
      }
    }),
  );
  return results;
}

/**
 * Measures the service and its baseline back to back, alternating which goes first from one run
 * to the next, so noise from other work on the machine lands on both sides.
 */
export async function alternate<S, B>(run: number, service: () => Promise<S>, baseline: () => Promise<B>): Promise<[S, B]> {
  if (run % 2 === 0) {
    const s = await service();
    return [s, await baseline()];
  }
  const b = await baseline();
  return [await service(), b];
}
