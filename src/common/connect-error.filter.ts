import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { isQueryCanceled, statementTimeoutError } from './statement-timeout';
import { dependencyUnavailableError, isDependencyUnavailable } from './dependency-errors';
import { ConnectError, ErrorCode, FieldError, ValidationError } from './errors';
import { requestIdOf, withRequestId } from './request-context';

/** Connect's body for unexpected failures (Connect docs, "examples"). */
export const INTERNAL_ERROR_MESSAGE = 'An error occurred while processing your request';

/** The body shapes of every error response (Connect docs, "HTTP API"). */
export type ConnectErrorBody = { errorMessage: string } | { errors: FieldError[] };

const STATUS_BY_CODE: Record<ErrorCode, HttpStatus> = {
  [ErrorCode.BadRequest]: HttpStatus.BAD_REQUEST,
  [ErrorCode.Unauthorized]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.Conflict]: HttpStatus.CONFLICT,
  [ErrorCode.PayloadTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.UnsupportedMediaType]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [ErrorCode.TooManyRequests]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.TooManyResults]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.Validation]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.ServiceUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
};

/**
 * The one error funnel: maps domain errors and framework HTTP errors (unknown routes) to
 * Connect's shapes. A statement PostgreSQL cancelled (57014: QUERY_STATEMENT_TIMEOUT_MS) is a 503
 * with Retry-After saying what to narrow. A driver error saying PostgreSQL or Redis is unreachable
 * (see dependency-errors.ts) is a 503 with Retry-After, wherever it was thrown (guard, handler,
 * stream set-up). Anything else is a 500 with a generic message; its details go to the log with a
 * request id, never to the client.
 */
@Catch()
export class ConnectErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(thrown: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const response = ctx.getResponse<Response>();
    const request = ctx.getRequest<Request>();
    const exception = this.recognise(thrown, request);
    const [status, body] = this.toResponse(exception, request, response);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (exception instanceof ConnectError && exception.retryAfterSeconds !== null) {
      response.setHeader('Retry-After', String(exception.retryAfterSeconds));
    }
    response.status(status).json(body);
  }

  /**
   * A statement timeout or a dependency failure becomes its ServiceUnavailableError (the latter
   * logged once, as a warning); anything else is kept.
   */
  private recognise(thrown: unknown, request: Request): unknown {
    if (isQueryCanceled(thrown)) {
      return statementTimeoutError();
    }
    if (thrown instanceof ConnectError || thrown instanceof HttpException || !isDependencyUnavailable(thrown)) {
      return thrown;
    }
    const detail = thrown instanceof Error ? thrown.message : String(thrown);
    this.logger.warn(`${request.method} ${request.path}: a dependency is unavailable (${detail}); answered 503`);
    return dependencyUnavailableError();
  }

  private toResponse(exception: unknown, request: Request, response: Response): [number, ConnectErrorBody] {
    if (exception instanceof ValidationError) {
      return [HttpStatus.UNPROCESSABLE_ENTITY, { errors: exception.errors }];
    }
    if (exception instanceof ConnectError) {
      return [STATUS_BY_CODE[exception.code], { errorMessage: exception.message }];
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500) {
        return this.internal(exception, request, response);
      }
      return [status, { errorMessage: this.httpMessage(exception) }];
    }
    return this.internal(exception, request, response);
  }

  private httpMessage(exception: HttpException): string {
    const response = exception.getResponse();
    if (exception.getStatus() === (HttpStatus.NOT_FOUND as number)) {
      return 'Not found.';
    }
    if (typeof response === 'object' && response !== null && 'message' in response) {
      const message = response.message;
      return Array.isArray(message) ? message.join('; ') : String(message);
    }
    return exception.message;
  }

  /** Logs the failure with the request's id (`X-Request-Id` of the response; a new one if it has none). */
  private internal(exception: unknown, request: Request, response: Response): [number, ConnectErrorBody] {
    const requestId = requestIdOf(response) ?? randomUUID();
    const detail = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
    // The line carries the id as `reqId` (src/logging/logger.ts); the path only, never the query string.
    withRequestId(requestId, () => this.logger.error(`${request.method} ${request.path} failed: ${detail}`));
    return [HttpStatus.INTERNAL_SERVER_ERROR, { errorMessage: INTERNAL_ERROR_MESSAGE }];
  }
}
