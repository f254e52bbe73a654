/**
 * Domain errors: every failure the API reports on purpose is one of these classes.
 * `ConnectErrorFilter` (common/connect-error.filter.ts) is the single place that maps them to
 * HTTP statuses and Connect's two body shapes (Connect docs, "HTTP API"):
 *   - `{"errorMessage": "..."}` for general errors, and
 *   - `422 {"errors": [{"field": "...", "description": "..."}]}` for validation errors.
 */

/** One validation problem, keyed by the request field it concerns (Connect's 422 body element). */
export interface FieldError {
  field: string;
  description: string;
}

export enum ErrorCode {
  BadRequest = 'BadRequest',
  Unauthorized = 'Unauthorized',
  Forbidden = 'Forbidden',
  NotFound = 'NotFound',
  Conflict = 'Conflict',
  PayloadTooLarge = 'PayloadTooLarge',
  UnsupportedMediaType = 'UnsupportedMediaType',
  TooManyRequests = 'TooManyRequests',
  TooManyResults = 'TooManyResults',
  Validation = 'Validation',
  ServiceUnavailable = 'ServiceUnavailable',
}

/** Base class of every deliberate API error. `message` is shown to the client as-is. */
export abstract class ConnectError extends Error {
  abstract readonly code: ErrorCode;
  /** Seconds after which a retry may succeed; sent as the `Retry-After` header when set. */
  readonly retryAfterSeconds: number | null = null;
}

/** A ConnectError that says when to try again (`Retry-After`, whole seconds, at least 1). */
abstract class RetryableError extends ConnectError {
  override readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** 400: the request is malformed in a way that is not about one field (e.g. a reserved `tp_` property). */
export class BadRequestError extends ConnectError {
  readonly code = ErrorCode.BadRequest;
}

/** 401: missing or unknown project id / API key, or a wrong admin token. */
export class UnauthorizedError extends ConnectError {
  readonly code = ErrorCode.Unauthorized;
}

/** 403: a valid key whose type lacks the permission the endpoint needs. */
export class ForbiddenError extends ConnectError {
  readonly code = ErrorCode.Forbidden;
}

/** 404: unknown export id, collection, or route. */
export class NotFoundError extends ConnectError {
  readonly code = ErrorCode.NotFound;
}

/** 409: the request conflicts with the resource's current state (e.g. cancelling an export that has already ended). */
export class ConflictError extends ConnectError {
  readonly code = ErrorCode.Conflict;
}

/** 413: a request body or event over its size limit, or a batch over 5,000 events. */
export class PayloadTooLargeError extends ConnectError {
  readonly code = ErrorCode.PayloadTooLarge;
}

/** 415: a `Content-Encoding` other than `identity` (request bodies are read as plain JSON only). */
export class UnsupportedMediaTypeError extends ConnectError {
  readonly code = ErrorCode.UnsupportedMediaType;
}

/** 429: a rate limit is exhausted; `Retry-After` says when the next request is allowed. */
export class TooManyRequestsError extends RetryableError {
  readonly code = ErrorCode.TooManyRequests;
}

/** 413 ("Too Many Results"): a query or export that matches more events than the endpoint allows. */
export class TooManyResultsError extends ConnectError {
  readonly code = ErrorCode.TooManyResults;
}

/** 503: a dependency (PostgreSQL, Redis) does not answer, or a shared resource is busy; always with `Retry-After`. */
export class ServiceUnavailableError extends RetryableError {
  readonly code = ErrorCode.ServiceUnavailable;
}

/** 422 with one entry per invalid field (Connect docs, "Pushing events", "Query errors"). */
export class ValidationError extends ConnectError {
  readonly code = ErrorCode.Validation;
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.description}`).join('; '));
  }

  static of(field: string, description: string): ValidationError {
    return new ValidationError([{ field, description }]);
  }
}
