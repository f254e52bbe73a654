import { Injectable, NestMiddleware } from '@nestjs/common';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { BadRequestError, PayloadTooLargeError } from './errors';

/** Largest body of `POST /events` (a batch of up to 5,000 events). */
export const MAX_BATCH_BODY = '32mb';
/** Largest body of `POST /events/:collection`; the event itself is limited to 64 KB after parsing. */
export const MAX_EVENT_BODY = '1mb';
/** Largest body anywhere else. */
export const MAX_OTHER_BODY = '256kb';

function parser(limit: string): RequestHandler {
  // Every body is JSON whatever its Content-Type (curl -d sends form encoding by default);
  // `strict: false` lets a non-object body through so the service can say what it expected.
  return express.json({ limit, strict: false, type: () => true });
}

/** Turns body-parser's errors into the API's own (its messages are not meant for clients). */
function bodyError(error: unknown): Error {
  const type = (error as { type?: string }).type;
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError('The request body is too large.');
    case 'entity.parse.failed':
      return new BadRequestError(`The request body is not valid JSON: ${(error as Error).message}.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new BadRequestError('The request body must be UTF-8 encoded JSON.');
    default:
      return new BadRequestError('The request body could not be read.');
  }
}

/**
 * Parses JSON bodies with a size limit per route. Runs as Nest middleware so its errors (bad JSON,
 * too large) reach the one error funnel, ConnectErrorFilter.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly batch = parser(MAX_BATCH_BODY);
  private readonly event = parser(MAX_EVENT_BODY);
  private readonly other = parser(MAX_OTHER_BODY);

  use(request: Request, response: Response, next: NextFunction): void {
    const path = request.originalUrl.split('?')[0].replace(/\/+$/, '');
    const handler = path === '/events' ? this.batch : /^\/events\/[^/]+$/.test(path) ? this.event : this.other;
    const empty = request.headers['content-length'] === '0'
      || (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined);
    handler(request, response, (error?: unknown) => {
      if (error !== undefined) {
        return next(bodyError(error));
      }
      // body-parser turns an empty body into {}; an empty request is not an empty event.
      if (empty) {
        request.body = undefined;
      }
      next();
    });
  }
}
