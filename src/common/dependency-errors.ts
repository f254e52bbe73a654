import { ServiceUnavailableError } from './errors';

/**
 * The one place that recognises "PostgreSQL or Redis is unreachable" among the errors drivers throw,
 * so the error funnel (connect-error.filter.ts) can answer 503 with Retry-After instead of 500.
 */

/** `Retry-After` when a dependency is down, seconds: long enough not to hammer it while it restarts. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/** Socket errors of a connection that could not be made or was lost. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs meaning "the server cannot serve you now": class 08 (connection exception)
 * is matched by prefix; 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting up, in recovery), 53300 too_many_connections.
 */
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Messages of pg, pg-pool and ioredis for a lost, refused or timed-out connection (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/, // pg: "Connection terminated unexpectedly", "... due to connection timeout"
  /^timeout exceeded when trying to connect$/, // pg-pool: connectionTimeoutMillis passed
  /^Query read timeout$/, // pg: query_timeout passed, PostgreSQL never answered (database/closing-client.ts)
  /^Client has encountered a connection error and is not queryable$/, // pg
  /^Connection is closed\.$/, // ioredis
  /^Reached the max retries per request limit/, // ioredis MaxRetriesPerRequestError
  /^Stream isn't writeable and enableOfflineQueue options is false$/, // ioredis
];

function isUnavailable(error: unknown, depth: number): boolean {
  if (depth > 4 || typeof error !== 'object' || error === null) {
    return false;
  }
  const { code, message, driverError, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || PG_UNAVAILABLE_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) {
    return true;
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) {
    return true;
  }
  // TypeORM's QueryFailedError keeps pg's error as driverError; Node's AggregateError (one
  // connection attempt per address) lists its parts in `errors`.
  return (
    isUnavailable(driverError, depth + 1) ||
    isUnavailable(cause, depth + 1) ||
    (Array.isArray(errors) && errors.some((e) => isUnavailable(e, depth + 1)))
  );
}

/** True when `error` says PostgreSQL or Redis could not be reached, refused us, or dropped the connection. */
export function isDependencyUnavailable(error: unknown): boolean {
  return isUnavailable(error, 0);
}

/** The 503 answered for such an error (the driver's own message goes to the log only). */
export function dependencyUnavailableError(): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'The service cannot reach its database or queue right now; try again shortly.',
    DEPENDENCY_RETRY_AFTER_SECONDS,
  );
}

/**
 * `promise`, or a rejection with `onTimeout()` once `ms` have passed (the operation itself is not
 * cancelled; its late outcome is ignored).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
