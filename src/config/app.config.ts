/**
 * Typed, fail-fast configuration read once from the environment. Every variable is documented in
 * `.env.example`; `loadConfig` throws one error listing every problem, so a misconfigured process
 * stops at boot instead of failing later.
 */
export type ProcessRole = 'all' | 'api' | 'worker';

export class AppConfig {
  /** HTTP port (default 3000). */
  port: number;
  /** PostgreSQL connection URL. */
  databaseUrl: string;
  /** Redis connection URL used by the Bull export queue. */
  redisUrl: string;
  /** Key prefix of the Bull queues in Redis (lets several deployments or test runs share a Redis). */
  queuePrefix: string;
  /** `all`: API and export worker in one process; `api`: HTTP only; `worker`: export worker only. */
  role: ProcessRole;
  /** Token for `X-Admin-Token`; admin endpoints are off when null. */
  adminToken: string | null;
  /** Secret (>= 32 characters) from which the AES-256-GCM key for secrets at rest is derived. */
  secretsKey: string;
  /** Base of absolute URLs in `Location` headers, e.g. `https://analytics.example.com`; else the request's. */
  publicBaseUrl: string | null;
  /** Origins (`http://127.0.0.1:4569`) of S3-compatible endpoints that `s3Path` may name, path-style. */
  s3AllowedEndpoints: string[];
  /** Bull lock duration of an export job, ms: how soon a dead worker's export is picked up again. */
  exportLockDurationMs: number;
  /** How often a worker looks for stalled export jobs, ms. */
  exportStalledIntervalMs: number;
  /** How many times an export may be restarted after its worker died before it is Failed. */
  exportMaxStalledCount: number;
  /** Multipart upload part size, bytes (S3 minimum: 5 MiB). */
  exportPartSizeBytes: number;
  /** Parts uploaded concurrently per export. */
  exportQueueSize: number;
  /** Exports a worker runs at once. */
  exportConcurrency: number;
  /** Minimum ms between two progress writes of one export. */
  exportProgressIntervalMs: number;
  /** PostgreSQL connections small exports may stream through at once (the rest answer 503). */
  exportStreamConnections: number;
  /** Small-export streams one project may hold at once, per process (the next answers 503 at once). */
  exportStreamConnectionsPerProject: number;
  /** Bytes per second a small-export client must read, measured over each grace window; 0 = never dropped. */
  exportStreamMinBytesPerSecond: number;
  /** Length of the windows over which the transfer rate of a small export is measured, ms (the first one is the grace period). */
  exportStreamGraceMs: number;
  /** Socket inactivity after which the HTTP server drops a connection, ms (a client that stopped reading). */
  httpIdleTimeoutMs: number;
  /** Longest wait for a PostgreSQL connection (a new one, or a free one of the pool) before the statement fails, ms. */
  databaseConnectTimeoutMs: number;
  /** Longest wait for one Redis operation on a request path or in the export sweep, ms. */
  redisCommandTimeoutMs: number;
  /** How often each worker queues again unfinished exports that have no live job in Redis, ms. */
  exportSweepIntervalMs: number;
}

const DEFAULTS = {
  PORT: '3000',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/connect',
  REDIS_URL: 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: 'connect',
  ROLE: 'all',
  EXPORT_LOCK_DURATION_MS: '30000',
  EXPORT_STALLED_INTERVAL_MS: '15000',
  EXPORT_MAX_STALLED_COUNT: '3',
  EXPORT_PART_SIZE_BYTES: String(8 * 1024 * 1024),
  EXPORT_QUEUE_SIZE: '4',
  EXPORT_CONCURRENCY: '2',
  EXPORT_PROGRESS_INTERVAL_MS: '250',
  EXPORT_STREAM_CONNECTIONS: '4',
  EXPORT_STREAM_CONNECTIONS_PER_PROJECT: '2',
  EXPORT_STREAM_MIN_BYTES_PER_SECOND: '1024',
  EXPORT_STREAM_GRACE_MS: '30000',
  HTTP_IDLE_TIMEOUT_MS: '60000',
  DATABASE_CONNECT_TIMEOUT_MS: '2000',
  REDIS_COMMAND_TIMEOUT_MS: '2000',
  EXPORT_SWEEP_INTERVAL_MS: '30000',
} as const;

const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * Reads and validates the configuration.
 * @throws Error listing every invalid or missing variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const read = (name: keyof typeof DEFAULTS): string => env[name]?.trim() || DEFAULTS[name];
  const int = (name: keyof typeof DEFAULTS, min: number): number => {
    const value = Number(read(name));
    if (!Number.isInteger(value) || value < min) {
      problems.push(`${name} must be an integer >= ${min}`);
    }
    return value;
  };

  const role = read('ROLE');
  if (role !== 'all' && role !== 'api' && role !== 'worker') {
    problems.push('ROLE must be one of all, api, worker');
  }
  const secretsKey = env.SECRETS_KEY ?? '';
  if (secretsKey.length < 32) {
    problems.push('SECRETS_KEY must be set to a random string of at least 32 characters (e.g. `openssl rand -hex 32`)');
  }
  const adminToken = env.ADMIN_TOKEN?.trim() || null;
  if (adminToken !== null && adminToken.length < 16) {
    problems.push('ADMIN_TOKEN must be at least 16 characters when set');
  }
  const publicBaseUrl = env.PUBLIC_BASE_URL?.trim().replace(/\/+$/, '') || null;
  if (publicBaseUrl !== null && !/^https?:\/\/[^/]+(\/.*)?$/.test(publicBaseUrl)) {
    problems.push('PUBLIC_BASE_URL must be an absolute http(s) URL');
  }
  const s3AllowedEndpoints: string[] = [];
  for (const entry of (env.S3_ALLOWED_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    try {
      const url = new URL(entry);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '')) {
        throw new Error();
      }
      s3AllowedEndpoints.push(url.origin);
    } catch {
      problems.push(`S3_ALLOWED_ENDPOINTS entry '${entry}' is not an origin like http://127.0.0.1:4569`);
    }
  }

  const config = Object.assign(new AppConfig(), {
    port: int('PORT', 0),
    databaseUrl: read('DATABASE_URL'),
    redisUrl: read('REDIS_URL'),
    queuePrefix: read('QUEUE_PREFIX'),
    role: role as ProcessRole,
    adminToken,
    secretsKey,
    publicBaseUrl,
    s3AllowedEndpoints,
    exportLockDurationMs: int('EXPORT_LOCK_DURATION_MS', 1000),
    exportStalledIntervalMs: int('EXPORT_STALLED_INTERVAL_MS', 500),
    exportMaxStalledCount: int('EXPORT_MAX_STALLED_COUNT', 1),
    exportPartSizeBytes: int('EXPORT_PART_SIZE_BYTES', MIN_PART_SIZE),
    exportQueueSize: int('EXPORT_QUEUE_SIZE', 1),
    exportConcurrency: int('EXPORT_CONCURRENCY', 1),
    exportProgressIntervalMs: int('EXPORT_PROGRESS_INTERVAL_MS', 10),
    exportStreamConnections: int('EXPORT_STREAM_CONNECTIONS', 1),
    exportStreamConnectionsPerProject: int('EXPORT_STREAM_CONNECTIONS_PER_PROJECT', 1),
    exportStreamMinBytesPerSecond: int('EXPORT_STREAM_MIN_BYTES_PER_SECOND', 0),
    exportStreamGraceMs: int('EXPORT_STREAM_GRACE_MS', 100),
    httpIdleTimeoutMs: int('HTTP_IDLE_TIMEOUT_MS', 1000),
    databaseConnectTimeoutMs: int('DATABASE_CONNECT_TIMEOUT_MS', 100),
    redisCommandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 100),
    exportSweepIntervalMs: int('EXPORT_SWEEP_INTERVAL_MS', 100),
  });
  if (problems.length > 0) {
    throw new Error(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}
