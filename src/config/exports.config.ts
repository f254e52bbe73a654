import { defineSection } from './section';
import { Integer, Milliseconds, Variable } from './variables';

/** S3's smallest multipart upload part (but the last), bytes. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Largest part size accepted (1 GiB): S3 takes up to 5 GiB, but each of EXPORT_QUEUE_SIZE parts in flight is held in memory. */
const MAX_PART_SIZE = 1024 * 1024 * 1024;

/** The origin of an S3 endpoint (`http://127.0.0.1:4569`; a trailing `/` is allowed), or null when `entry` is not one. */
function originOf(entry: string): string | null {
  try {
    const url = new URL(entry);
    return (url.protocol === 'http:' || url.protocol === 'https:') && (url.pathname === '/' || url.pathname === '') ? url.origin : null;
  } catch {
    return null;
  }
}

/** S3_ALLOWED_ENDPOINTS: comma-separated origins; an entry that is not one is kept as given, to be named in a problem. */
function parseOrigins(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => originOf(entry) ?? entry);
}

/** S3 exports (the export worker, its retries) and the small exports streamed over HTTP; S3 endpoints. */
export class ExportsVariables {
  @Variable({
    parse: parseOrigins,
    problems: (value, name) =>
      (value as string[])
        .filter((entry) => originOf(entry) !== entry)
        .map((entry) => `${name} entry '${entry}' is not an origin like http://127.0.0.1:4569`),
  })
  S3_ALLOWED_ENDPOINTS: string[] = [];

  @Integer(1)
  EXPORT_MAX_PENDING_PER_PROJECT = 20;

  @Milliseconds(1000)
  EXPORT_LOCK_DURATION_MS = 30_000;

  @Milliseconds(500)
  EXPORT_STALLED_INTERVAL_MS = 15_000;

  @Integer(1)
  EXPORT_MAX_STALLED_COUNT = 3;

  @Integer(MIN_PART_SIZE, MAX_PART_SIZE)
  EXPORT_PART_SIZE_BYTES = 8 * 1024 * 1024;

  @Integer(1)
  EXPORT_QUEUE_SIZE = 4;

  @Integer(1)
  EXPORT_CONCURRENCY = 4;

  @Integer(1)
  EXPORT_MAX_RUNNING_PER_PROJECT = 2;

  @Integer(1, 1000)
  EXPORT_MAX_ATTEMPTS = 10;

  @Milliseconds(0)
  EXPORT_RETRY_BUDGET_MS = 3_600_000;

  @Milliseconds(10)
  EXPORT_RETRY_BASE_DELAY_MS = 2000;

  @Milliseconds(10)
  EXPORT_RETRY_MAX_DELAY_MS = 60_000;

  @Milliseconds(500)
  EXPORT_STALL_TIMEOUT_MS = 120_000;

  @Milliseconds(100)
  EXPORT_S3_REQUEST_TIMEOUT_MS = 60_000;

  @Integer(1)
  EXPORT_STREAM_CONNECTIONS = 8;

  @Integer(1)
  EXPORT_STREAM_CONNECTIONS_PER_PROJECT = 2;

  @Integer(0)
  EXPORT_STREAM_MIN_BYTES_PER_SECOND = 1024;

  @Milliseconds(100)
  EXPORT_STREAM_GRACE_MS = 30_000;

  @Milliseconds(100)
  EXPORT_SWEEP_INTERVAL_MS = 30_000;
}

export interface ExportsConfig {
  /** Origins (`http://127.0.0.1:4569`) of S3-compatible endpoints that `s3Path` may name, path-style (exports and imports). */
  s3AllowedEndpoints: string[];
  /** Most unfinished (Pending or Running) S3 exports one project may have; one more POST answers 429. */
  maxPendingPerProject: number;
  /** Bull lock duration of an export or import job, ms: how soon a dead worker's job is picked up again. */
  lockDurationMs: number;
  /** How often a worker looks for stalled export and import jobs, ms. */
  stalledIntervalMs: number;
  /** How many times a job may be restarted after its worker died before it is Failed. */
  maxStalledCount: number;
  /** Multipart upload part size, bytes (5 MiB, S3's minimum, to 1 GiB). */
  partSizeBytes: number;
  /** Parts uploaded concurrently per export. */
  queueSize: number;
  /** Exports a worker runs at once. */
  concurrency: number;
  /** Exports of one project running at once, over every worker. */
  maxRunningPerProject: number;
  /** Attempts an S3 export or an import gets (its first run, retries after transient errors, restarts after its worker died). */
  maxAttempts: number;
  /** No retry starts later than this after the export or import first started, ms; 0 = no limit. */
  retryBudgetMs: number;
  /** Delay before the first retry, ms; doubled for each further one (with jitter), up to `retryMaxDelayMs`. */
  retryBaseDelayMs: number;
  /** Longest delay between two attempts, ms. */
  retryMaxDelayMs: number;
  /** An attempt that reads no row and gets no S3 answer for this long is abandoned and retried, ms. */
  stallTimeoutMs: number;
  /** Longest wait for one S3 request (a part, completing the upload, the manifest, a read), ms; then it fails and is retried. */
  s3RequestTimeoutMs: number;
  /** PostgreSQL connections small exports may stream through at once (the rest answer 503). */
  streamConnections: number;
  /** Small-export streams one project may hold at once, per process (the next answers 503 at once). */
  streamConnectionsPerProject: number;
  /** Bytes per second a small-export client must read, measured over each grace window; 0 = never dropped. */
  streamMinBytesPerSecond: number;
  /** Length of the windows over which the transfer rate of a small export is measured, ms (the first one is the grace period). */
  streamGraceMs: number;
  /** How often each worker queues again unfinished exports and imports that have no live job in Redis, ms. */
  sweepIntervalMs: number;
}

/** S3_ALLOWED_ENDPOINTS and EXPORT_* but EXPORT_STATEMENT_TIMEOUT_MS (database) (docs/configuration.md). */
export const exportsConfig = defineSection('exports', ExportsVariables, (v): ExportsConfig => ({
  s3AllowedEndpoints: v.S3_ALLOWED_ENDPOINTS,
  maxPendingPerProject: v.EXPORT_MAX_PENDING_PER_PROJECT,
  lockDurationMs: v.EXPORT_LOCK_DURATION_MS,
  stalledIntervalMs: v.EXPORT_STALLED_INTERVAL_MS,
  maxStalledCount: v.EXPORT_MAX_STALLED_COUNT,
  partSizeBytes: v.EXPORT_PART_SIZE_BYTES,
  queueSize: v.EXPORT_QUEUE_SIZE,
  concurrency: v.EXPORT_CONCURRENCY,
  maxRunningPerProject: v.EXPORT_MAX_RUNNING_PER_PROJECT,
  maxAttempts: v.EXPORT_MAX_ATTEMPTS,
  retryBudgetMs: v.EXPORT_RETRY_BUDGET_MS,
  retryBaseDelayMs: v.EXPORT_RETRY_BASE_DELAY_MS,
  retryMaxDelayMs: v.EXPORT_RETRY_MAX_DELAY_MS,
  stallTimeoutMs: v.EXPORT_STALL_TIMEOUT_MS,
  s3RequestTimeoutMs: v.EXPORT_S3_REQUEST_TIMEOUT_MS,
  streamConnections: v.EXPORT_STREAM_CONNECTIONS,
  streamConnectionsPerProject: v.EXPORT_STREAM_CONNECTIONS_PER_PROJECT,
  streamMinBytesPerSecond: v.EXPORT_STREAM_MIN_BYTES_PER_SECOND,
  streamGraceMs: v.EXPORT_STREAM_GRACE_MS,
  sweepIntervalMs: v.EXPORT_SWEEP_INTERVAL_MS,
}));
