import { WaitTurnError } from './project-turns';
import { jobRetryDelayMs, retryDelayMs } from './retry-delay';

describe('retry delays of export and import jobs', () => {
  const delays = { retryBaseDelayMs: 2000, retryMaxDelayMs: 60_000 };

  it('retryDelayMs doubles from the base up to the cap, with half of it random', () => {
    expect([1, 2, 3, 10].map((attempt) => retryDelayMs(attempt, 2000, 60_000, () => 0))).toEqual([1000, 2000, 4000, 30_000]);
    expect([1, 2, 3, 10].map((attempt) => retryDelayMs(attempt, 2000, 60_000, () => 1))).toEqual([2000, 4000, 8000, 60_000]);
  });

  it("jobRetryDelayMs takes the runner's chosen delay, else doubles without jitter up to the cap", () => {
    expect(jobRetryDelayMs(3, Object.assign(new Error('S3 500'), { delayMs: 1234 }), delays)).toBe(1234);
    expect([1, 2, 3, 6, 50].map((made) => jobRetryDelayMs(made, new Error('PostgreSQL down'), delays))).toEqual([
      2000, 4000, 8000, 60_000, 60_000,
    ]);
  });

  it("a job waiting for its project's turn comes back after 0.5–1 s, however often it waited", () => {
    for (const made of [1, 10, 10_000]) {
      const delay = jobRetryDelayMs(made, new WaitTurnError('waits'), delays);
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1000);
    }
  });
});
