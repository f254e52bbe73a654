import { ServiceUnavailableError } from './errors';

/** PostgreSQL's SQLSTATE for a statement cancelled by `statement_timeout` (or by an operator's pg_cancel_backend). */
export const QUERY_CANCELED = '57014';

/** How long after its `statement_timeout` a query's answer may still arrive before the client gives up, ms. */
export const QUERY_ANSWER_MARGIN_MS = 2000;

/** Seconds a client is told to wait before retrying a statement that timed out. */
export const STATEMENT_TIMEOUT_RETRY_AFTER_SECONDS = 5;

export const STATEMENT_TIMEOUT_MESSAGE =
  'The request took longer than the database statement timeout allows. For a query or an export, narrow the ' +
  'timeframe or the filter, or group by fewer properties (or fewer, longer intervals); then try again.';

/**
 * Whether an error is PostgreSQL's query_canceled (57014), as `pg` raises it (`DatabaseError.code`,
 * also from a pg-query-stream cursor) or as TypeORM wraps it (`QueryFailedError`, which copies
 * `code` and keeps `driverError`).
 */
export function isQueryCanceled(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, driverError } = error as { code?: unknown; driverError?: { code?: unknown } };
  return code === QUERY_CANCELED || driverError?.code === QUERY_CANCELED;
}

/**
 * The API's answer to a statement cut by QUERY_STATEMENT_TIMEOUT_MS: 503 with Retry-After and what to
 * narrow. Used by the one error funnel (ConnectErrorFilter), so no endpoint can forget it.
 */
export function statementTimeoutError(): ServiceUnavailableError {
  return new ServiceUnavailableError(STATEMENT_TIMEOUT_MESSAGE, STATEMENT_TIMEOUT_RETRY_AFTER_SECONDS);
}
