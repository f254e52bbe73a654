import type { JobOptions } from 'bull';
import { jobRetryDelayMs } from '../common';
import type { ExportsConfig } from '../config';

/** Queue and job names of the export pipeline, in one place. */
export const EXPORT_QUEUE = 'exports';
export const EXPORT_JOB = 'export-to-s3';

/** Job data in Redis: the export id only (credentials stay encrypted in PostgreSQL). */
export interface ExportJobData {
  exportId: string;
}

/** Most events in a small export (Connect docs, "Exporting events": "Small exports"). */
export const MAX_SMALL_EXPORT_EVENTS = 10_000;
/** Most events in an S3 export (Connect docs, "Exporting events": "Exporting to Amazon S3"). */
export const MAX_S3_EXPORT_EVENTS = 1_000_000;

/**
 * Bull's options for every export job: Bull may run it "forever" (the export's own budget,
 * EXPORT_MAX_ATTEMPTS and EXPORT_RETRY_BUDGET_MS, ends it), delayed between runs by `exportBackoff`.
 */
export const EXPORT_JOB_OPTIONS: JobOptions = {
  attempts: 1_000_000,
  backoff: { type: 'export' },
  removeOnComplete: true,
  removeOnFail: 1000,
};

/**
 * The `export` backoff strategy: the delay ExportRunner chose (ExportRetryLaterError.delayMs:
 * exponential with jitter; WaitTurnError.delayMs, 0.5–1 s, for a job that waits for its project's
 * turn), and for any other error (PostgreSQL down before the export could be claimed) a doubling
 * one up to EXPORT_RETRY_MAX_DELAY_MS.
 */
export function exportBackoff(config: ExportsConfig): (attemptsMade: number, error: Error) => number {
  return (attemptsMade, error) => jobRetryDelayMs(attemptsMade, error, config);
}
