import { defineSection } from './section';
import { Integer } from './variables';

/** Bulk imports from S3 (docs/imports.md, "Settings"); they retry under the exports section's EXPORT_MAX_ATTEMPTS, EXPORT_RETRY_*, EXPORT_STALL_TIMEOUT_MS and EXPORT_S3_REQUEST_TIMEOUT_MS. */
export class ImportsVariables {
  @Integer(1)
  IMPORT_CONCURRENCY = 2;

  @Integer(1, 50_000)
  IMPORT_BATCH_LINES = 2000;

  @Integer(1)
  IMPORT_MAX_PENDING_PER_PROJECT = 5;

  @Integer(1)
  IMPORT_MAX_RUNNING_PER_PROJECT = 1;
}

export interface ImportsConfig {
  /** Imports one worker process runs at once. */
  concurrency: number;
  /**
   * Most lines of an import committed in one transaction with the import's position (default 2,000: at 5,000 the
   * worker's peak RSS importing 1,000,000 events was about 1.8 times higher, at about the same speed; bench/README.md, B5).
   */
  batchLines: number;
  /** Most unfinished (Pending or Running) imports one project may have; one more POST answers 429. */
  maxPendingPerProject: number;
  /**
   * Imports of one project running at once, over every worker (default 1: one project then holds at
   * most one of a worker's default IMPORT_CONCURRENCY of 2, and its other imports wait their turn).
   */
  maxRunningPerProject: number;
}

/** IMPORT_CONCURRENCY, IMPORT_BATCH_LINES, IMPORT_MAX_PENDING_PER_PROJECT, IMPORT_MAX_RUNNING_PER_PROJECT (docs/configuration.md). */
export const importsConfig = defineSection('imports', ImportsVariables, (v): ImportsConfig => ({
  concurrency: v.IMPORT_CONCURRENCY,
  batchLines: v.IMPORT_BATCH_LINES,
  maxPendingPerProject: v.IMPORT_MAX_PENDING_PER_PROJECT,
  maxRunningPerProject: v.IMPORT_MAX_RUNNING_PER_PROJECT,
}));
