/**
 * Typed, fail-fast configuration read once from the environment. Every variable is documented in
 * `.env.example`; `loadConfig` throws one error listing every problem, so a misconfigured process
 * stops at boot instead of failing later.
 */
import { DEFAULT_QUERY_LIMITS, MAX_CONFIGURABLE_FILTER_CONDITIONS, QueryLimits } from '../query/query.constants';
import { isIP } from 'node:net';

export type ProcessRole = 'all' | 'api' | 'worker';

/**
 * Express `trust proxy`: false (use the socket's address), true (the left-most X-Forwarded-For
 * entry), a hop count, or the addresses/subnets of trusted proxies (`loopback`, `10.0.0.0/8`).
 */
export type TrustProxy = boolean | number | string[];

/** A rate limit: at most `points` requests (or failures) per `windowSeconds` fixed window. */
export interface RateLimit {
  points: number;
  windowSeconds: number;
}

/** Rate limits, enforced in Redis so that every API process shares them (src/common/rate-limit.ts). */
export interface RateLimitConfig {
  /** false turns every rate limit off. */
  enabled: boolean;
  /** Redis holding the counters (default: REDIS_URL). */
  redisUrl: string;
  /** Prefix of the counters' Redis keys (default: QUEUE_PREFIX); processes sharing it share the limits. */
  prefix: string;
  /** How long a limiter waits for Redis, ms, before the in-memory limiter of the process decides. */
  redisTimeoutMs: number;
  /** Failed authentications (401) per client address. */
  authFailuresPerAddress: RateLimit;
  /** Failed authentications (401) with one project id + API key, or one admin token. */
  authFailuresPerKey: RateLimit;
  /** Per project: push requests (`POST /events`, `POST /events/:collection`). */
  pushes: RateLimit;
  /** Per project: queries, S3 export monitor reads, cancellations and listings (GET /exports). */
  queries: RateLimit;
  /** Per project: small exports (`GET /events/:collection/export`). */
  smallExports: RateLimit;
  /** Per project: S3 exports started (`POST /events/:collection/export`). */
  s3Exports: RateLimit;
}

export class AppConfig {
  /** Address the HTTP server listens on: `0.0.0.0` (default, every IPv4 interface), `127.0.0.1`, `::`, … */
  host: string;
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
  /** Whether NODE_ENV is `production` (then a missing PUBLIC_BASE_URL is warned about at start). */
  production: boolean;
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
  /** Caps on a query document: filter conditions, `in` values, characters (src/query/query.constants.ts). */
  queryLimits: QueryLimits;
  /**
   * `statement_timeout` of every API statement, ms (queries, exports' reads in the API, the S3 export's
   * count, key lookups, pushes); set on each connection of the API's pools. 0 = none.
   */
  queryStatementTimeoutMs: number;
  /** `statement_timeout` of the export worker's reads (size pass and cursor), ms, set per transaction. 0 = none. */
  exportStatementTimeoutMs: number;
  /** Express `trust proxy` (which address `request.ip` is; rate limits per client address use it). */
  trustProxy: TrustProxy;
  /** Rate limits. */
  rateLimit: RateLimitConfig;
  /**
   * How long a connection closed with part of its request body unread (a refused request) keeps
   * discarding what the client still sends before it is dropped, ms, so the client reads the
   * answer instead of a connection reset.
   */
  httpCloseLingerMs: number;
  /** Longest wait for a PostgreSQL connection (a new one, or a free one of the pool) before the statement fails, ms. */
  databaseConnectTimeoutMs: number;
  /** Longest wait for one Redis operation on a request path or in the export sweep, ms. */
  redisCommandTimeoutMs: number;
  /** How often each worker queues again unfinished exports that have no live job in Redis, ms. */
  exportSweepIntervalMs: number;
  /** Attempts an S3 export gets (its first run, retries after transient errors, restarts after its worker died). */
  exportMaxAttempts: number;
  /** No retry starts later than this after the export first started, ms. */
  exportRetryBudgetMs: number;
  /** Delay before the first retry, ms; doubled for each further one (with jitter), up to EXPORT_RETRY_MAX_DELAY_MS. */
  exportRetryBaseDelayMs: number;
  /** Longest delay between two attempts, ms. */
  exportRetryMaxDelayMs: number;
  /** An attempt that reads no row and gets no S3 answer for this long is abandoned and retried, ms. */
  exportStallTimeoutMs: number;
  /** Longest wait for one S3 request (a part, completing the upload, the manifest), ms; then it fails and is retried. */
  exportS3RequestTimeoutMs: number;
  /** Exports of one project running at once, over every worker. */
  exportMaxRunningPerProject: number;
  /** Most unfinished (Pending or Running) S3 exports one project may have; one more POST answers 429. */
  exportMaxPendingPerProject: number;
  /** Imports one worker process runs at once (docs/imports.md, "Settings"). */
  importConcurrency: number;
  /**
   * Most lines of an import committed in one transaction with the import's position (default 2,000: at 5,000 the
   * worker's peak RSS importing 1,000,000 events was about 1.8 times higher, at about the same speed; bench/README.md, B5).
   */
  importBatchLines: number;
  /** Most unfinished (Pending or Running) imports one project may have; one more POST answers 429. */
  importMaxPendingPerProject: number;
  /** `json`: one JSON object per log line (the default when NODE_ENV=production); `pretty`: text for a terminal. */
  logFormat: 'json' | 'pretty';
  /** Lowest level logged: `fatal`, `error`, `warn`, `info` (default), `debug`, `trace`. */
  logLevel: LogLevelName;
  /** Port of a separate HTTP listener that serves `/metrics` without a token; null: `/metrics` on PORT behind X-Admin-Token. */
  metricsPort: number | null;
  /** Port on which a worker-only process (ROLE=worker) answers `/health`, `/health/ready` (and `/metrics`); null: none. */
  healthPort: number | null;
  /** After SIGTERM/SIGINT: how long in-flight requests and running jobs get before the process exits, ms. */
  shutdownGraceMs: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

const DEFAULTS = {
  PORT: '3000',
  HOST: '0.0.0.0',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/connect',
  REDIS_URL: 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: 'connect',
  ROLE: 'all',
  EXPORT_LOCK_DURATION_MS: '30000',
  EXPORT_STALLED_INTERVAL_MS: '15000',
  EXPORT_MAX_STALLED_COUNT: '3',
  EXPORT_PART_SIZE_BYTES: String(8 * 1024 * 1024),
  EXPORT_QUEUE_SIZE: '4',
  EXPORT_CONCURRENCY: '4',
  EXPORT_STREAM_CONNECTIONS: '8',
  EXPORT_STREAM_CONNECTIONS_PER_PROJECT: '2',
  EXPORT_STREAM_MIN_BYTES_PER_SECOND: '1024',
  EXPORT_STREAM_GRACE_MS: '30000',
  HTTP_IDLE_TIMEOUT_MS: '60000',
  QUERY_MAX_FILTER_CONDITIONS: String(DEFAULT_QUERY_LIMITS.maxFilterConditions),
  QUERY_MAX_IN_VALUES: String(DEFAULT_QUERY_LIMITS.maxInValues),
  QUERY_MAX_DOCUMENT_CHARS: String(DEFAULT_QUERY_LIMITS.maxDocumentChars),
  QUERY_STATEMENT_TIMEOUT_MS: '10000',
  EXPORT_STATEMENT_TIMEOUT_MS: '600000',
  TRUST_PROXY: 'false',
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_REDIS_TIMEOUT_MS: '250',
  RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '100',
  RATE_LIMIT_AUTH_FAILURES_PER_KEY: '20',
  RATE_LIMIT_AUTH_WINDOW_SECONDS: '600',
  RATE_LIMIT_PUSHES: '60000',
  RATE_LIMIT_QUERIES: '6000',
  RATE_LIMIT_SMALL_EXPORTS: '600',
  RATE_LIMIT_S3_EXPORTS: '60',
  RATE_LIMIT_WINDOW_SECONDS: '60',
  HTTP_CLOSE_LINGER_MS: '2000',
  DATABASE_CONNECT_TIMEOUT_MS: '2000',
  REDIS_COMMAND_TIMEOUT_MS: '2000',
  EXPORT_SWEEP_INTERVAL_MS: '30000',
  EXPORT_MAX_ATTEMPTS: '10',
  EXPORT_RETRY_BUDGET_MS: '3600000',
  EXPORT_RETRY_BASE_DELAY_MS: '2000',
  EXPORT_RETRY_MAX_DELAY_MS: '60000',
  EXPORT_STALL_TIMEOUT_MS: '120000',
  EXPORT_S3_REQUEST_TIMEOUT_MS: '60000',
  EXPORT_MAX_RUNNING_PER_PROJECT: '2',
  EXPORT_MAX_PENDING_PER_PROJECT: '20',
  IMPORT_CONCURRENCY: '2',
  IMPORT_BATCH_LINES: '2000',
  IMPORT_MAX_PENDING_PER_PROJECT: '5',
  LOG_LEVEL: 'info',
  SHUTDOWN_GRACE_MS: '25000',
} as const;

const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IP address or CIDR subnet (`10.0.0.0/8`, `fd00::/8`) as Express's `trust proxy` takes them. */
function isAddressOrSubnet(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * Reads and validates the configuration.
 * @throws Error listing every invalid or missing variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const read = (name: keyof typeof DEFAULTS): string => env[name]?.trim() || DEFAULTS[name];
  const int = (name: keyof typeof DEFAULTS, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const value = Number(read(name));
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(
        max === Number.MAX_SAFE_INTEGER ? `${name} must be an integer >= ${min}` : `${name} must be an integer from ${min} to ${max}`,
      );
    }
    return value;
  };

  const bool = (name: keyof typeof DEFAULTS): boolean => {
    const value = read(name).toLowerCase();
    if (value !== 'true' && value !== 'false') {
      problems.push(`${name} must be true or false`);
    }
    return value === 'true';
  };

  const optionalPort = (name: 'METRICS_PORT' | 'HEALTH_PORT'): number | null => {
    const text = env[name]?.trim();
    if (!text) return null;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > 65535) problems.push(`${name} must be a port from 1 to 65535`);
    return value;
  };
  const logFormatText = env.LOG_FORMAT?.trim() || (env.NODE_ENV?.trim() === 'production' ? 'json' : 'pretty');
  if (logFormatText !== 'json' && logFormatText !== 'pretty') problems.push('LOG_FORMAT must be json or pretty');
  const logFormat = logFormatText === 'json' ? 'json' : 'pretty';
  const logLevel = read('LOG_LEVEL').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const host = read('HOST');
  if (isIP(host) === 0 && host !== 'localhost') {
    problems.push('HOST must be an IP address (0.0.0.0, 127.0.0.1, ::) or localhost');
  }
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
  for (const entry of (env.S3_ALLOWED_ENDPOINTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
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

  const trustProxyText = read('TRUST_PROXY');
  let trustProxy: TrustProxy;
  if (trustProxyText === 'true' || trustProxyText === 'false') {
    trustProxy = trustProxyText === 'true';
  } else if (/^\d+$/.test(trustProxyText)) {
    trustProxy = Number(trustProxyText);
  } else {
    trustProxy = trustProxyText
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const entry of trustProxy.filter((e) => !TRUST_PROXY_NAMES.has(e) && !isAddressOrSubnet(e))) {
      problems.push(
        `TRUST_PROXY entry '${entry}' is not true, false, a hop count, loopback, linklocal, uniquelocal, an IP address or a subnet`,
      );
    }
  }
  const authWindowSeconds = int('RATE_LIMIT_AUTH_WINDOW_SECONDS', 1);
  const windowSeconds = int('RATE_LIMIT_WINDOW_SECONDS', 1);
  const queuePrefix = read('QUEUE_PREFIX');
  const redisUrl = read('REDIS_URL');
  const rateLimit: RateLimitConfig = {
    enabled: bool('RATE_LIMIT_ENABLED'),
    redisUrl: env.RATE_LIMIT_REDIS_URL?.trim() || redisUrl,
    prefix: env.RATE_LIMIT_PREFIX?.trim() || queuePrefix,
    redisTimeoutMs: int('RATE_LIMIT_REDIS_TIMEOUT_MS', 10),
    authFailuresPerAddress: { points: int('RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS', 1), windowSeconds: authWindowSeconds },
    authFailuresPerKey: { points: int('RATE_LIMIT_AUTH_FAILURES_PER_KEY', 1), windowSeconds: authWindowSeconds },
    pushes: { points: int('RATE_LIMIT_PUSHES', 1), windowSeconds },
    queries: { points: int('RATE_LIMIT_QUERIES', 1), windowSeconds },
    smallExports: { points: int('RATE_LIMIT_SMALL_EXPORTS', 1), windowSeconds },
    s3Exports: { points: int('RATE_LIMIT_S3_EXPORTS', 1), windowSeconds },
  };

  const config = Object.assign(new AppConfig(), {
    port: int('PORT', 0),
    host,
    databaseUrl: read('DATABASE_URL'),
    redisUrl,
    queuePrefix,
    role: role as ProcessRole,
    adminToken,
    secretsKey,
    production: env.NODE_ENV?.trim() === 'production',
    publicBaseUrl,
    s3AllowedEndpoints,
    exportLockDurationMs: int('EXPORT_LOCK_DURATION_MS', 1000),
    exportStalledIntervalMs: int('EXPORT_STALLED_INTERVAL_MS', 500),
    exportMaxStalledCount: int('EXPORT_MAX_STALLED_COUNT', 1),
    exportPartSizeBytes: int('EXPORT_PART_SIZE_BYTES', MIN_PART_SIZE),
    exportQueueSize: int('EXPORT_QUEUE_SIZE', 1),
    exportConcurrency: int('EXPORT_CONCURRENCY', 1),
    exportStreamConnections: int('EXPORT_STREAM_CONNECTIONS', 1),
    exportStreamConnectionsPerProject: int('EXPORT_STREAM_CONNECTIONS_PER_PROJECT', 1),
    exportStreamMinBytesPerSecond: int('EXPORT_STREAM_MIN_BYTES_PER_SECOND', 0),
    exportStreamGraceMs: int('EXPORT_STREAM_GRACE_MS', 100),
    httpIdleTimeoutMs: int('HTTP_IDLE_TIMEOUT_MS', 1000),
    queryLimits: {
      maxFilterConditions: int('QUERY_MAX_FILTER_CONDITIONS', 1, MAX_CONFIGURABLE_FILTER_CONDITIONS),
      maxInValues: int('QUERY_MAX_IN_VALUES', 1, 100_000),
      // The largest JSON body outside pushes is 256 KB (json-body.middleware.ts), so more could never arrive.
      maxDocumentChars: int('QUERY_MAX_DOCUMENT_CHARS', 2, 256 * 1024),
    },
    queryStatementTimeoutMs: int('QUERY_STATEMENT_TIMEOUT_MS', 0),
    exportStatementTimeoutMs: int('EXPORT_STATEMENT_TIMEOUT_MS', 0),
    trustProxy,
    rateLimit,
    httpCloseLingerMs: int('HTTP_CLOSE_LINGER_MS', 0),
    databaseConnectTimeoutMs: int('DATABASE_CONNECT_TIMEOUT_MS', 100),
    redisCommandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 100),
    exportSweepIntervalMs: int('EXPORT_SWEEP_INTERVAL_MS', 100),
    exportMaxAttempts: int('EXPORT_MAX_ATTEMPTS', 1, 1000),
    exportRetryBudgetMs: int('EXPORT_RETRY_BUDGET_MS', 0),
    exportRetryBaseDelayMs: int('EXPORT_RETRY_BASE_DELAY_MS', 10),
    exportRetryMaxDelayMs: int('EXPORT_RETRY_MAX_DELAY_MS', 10),
    exportStallTimeoutMs: int('EXPORT_STALL_TIMEOUT_MS', 500),
    exportS3RequestTimeoutMs: int('EXPORT_S3_REQUEST_TIMEOUT_MS', 100),
    exportMaxRunningPerProject: int('EXPORT_MAX_RUNNING_PER_PROJECT', 1),
    exportMaxPendingPerProject: int('EXPORT_MAX_PENDING_PER_PROJECT', 1),
    importConcurrency: int('IMPORT_CONCURRENCY', 1),
    importBatchLines: int('IMPORT_BATCH_LINES', 1, 50_000),
    importMaxPendingPerProject: int('IMPORT_MAX_PENDING_PER_PROJECT', 1),
    logFormat,
    logLevel: logLevel as LogLevelName,
    metricsPort: optionalPort('METRICS_PORT'),
    healthPort: optionalPort('HEALTH_PORT'),
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', 0),
  });
  if (problems.length > 0) {
    throw new Error(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}
