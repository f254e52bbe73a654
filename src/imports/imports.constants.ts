import type { JobOptions } from 'bull';
import { jobRetryDelayMs } from '../common';
import type { ExportsConfig } from '../config';

/** Queue and job names of bulk imports, in one place. */
export const IMPORT_QUEUE = 'imports';
export const IMPORT_JOB = 'import-from-s3';

/** Job data in Redis: the import id only (credentials stay encrypted in PostgreSQL). */
export interface ImportJobData {
  importId: string;
}

/** The `error` of a cancelled import (docs/imports.md, "Cancelling"). */
export const IMPORT_CANCELLED_MESSAGE = 'The import was cancelled.';
/** The `error` of a line that is not JSON: the text of Connect's own monitor example. */
export const INVALID_JSON_MESSAGE = 'The JSON specified was not valid.';
/** Most `eventErrors` entries an import keeps: the first ones (docs/imports.md, "The monitor document"). */
export const MAX_EVENT_ERRORS = 1000;
/** Longest line read as an event, bytes: the body limit of a single push; longer lines are event errors. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** A batch of lines also ends once it holds this much text, bytes. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** `Retry-After` (seconds) of the 429 answered when a project has IMPORT_MAX_PENDING_PER_PROJECT unfinished imports. */
export const PENDING_IMPORTS_RETRY_AFTER_SECONDS = 30;

/** Bull's options for every import job: runs again after transient failures, delayed by the `import` backoff strategy. */
export const IMPORT_JOB_OPTIONS: JobOptions = {
  attempts: 1_000_000,
  backoff: { type: 'import' },
  removeOnComplete: true,
  removeOnFail: 1000,
};

/**
 * The `import` backoff strategy: the delay ImportRunner chose (ImportRetryLaterError.delayMs;
 * WaitTurnError.delayMs, 0.5–1 s, for a job that waits for its project's turn), or
 * for any other error (PostgreSQL down before the import could be claimed) a doubling one up to
 * EXPORT_RETRY_MAX_DELAY_MS.
 */
export function importBackoff(config: ExportsConfig): (attemptsMade: number, error: Error) => number {
  return (attemptsMade, error) => jobRetryDelayMs(attemptsMade, error, config);
}
