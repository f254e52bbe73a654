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
