import { Injectable, NestMiddleware } from '@nestjs/common';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { BadRequestError, ConnectError, PayloadTooLargeError, ValidationError } from './errors';
import { parseJsonBody } from './json-text';

/** Largest body of `POST /events` (a batch of up to 5,000 events). */
export const MAX_BATCH_BODY = '32mb';
/** Largest body of `POST /events/:collection`; the event itself is limited to 64 KB after parsing. */
export const MAX_EVENT_BODY = '1mb';
/** Largest body anywhere else. */
export const MAX_OTHER_BODY = '256kb';
/** Deepest nesting of objects and arrays in a request body (events themselves: 64 levels). */
export const MAX_BODY_DEPTH = 100;

type RequestWithBodyLength = Request & { bodyLength?: number };

/**
 * Whether JSON text nests objects/arrays deeper than `limit`. A linear scan of the raw bytes
 * (brackets inside strings do not count), run before parsing so that no recursive code later
 * (serialisation, validation) can be driven into a stack overflow.
 */
export function nestsDeeperThan(json: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === 0x5c) escaped = true;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > limit) return true;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Passed on by `parser` for invalid JSON, typed like body-parser's own parse errors for `bodyError`. */
class JsonSyntaxError extends Error {
  readonly type = 'entity.parse.failed';
}

/** UTF-8 or no charset: bodies are decoded as UTF-8 only (`parseJsonBody`). */
function isUtf8(request: Request): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

/**
 * Reads the body as bytes (body-parser's limit and inflation) and parses it with `parseJsonBody`,
 * which keeps every digit of numbers (json-text.ts).
 */
function parser(limit: string): RequestHandler {
  // Every body is JSON whatever its Content-Type (curl -d sends form encoding by default), and any
  // JSON value is read, so the service can say what it expected instead of a non-object.
  const raw = express.raw({ limit, type: () => true });
  return (request: RequestWithBodyLength, response, next) => {
    raw(request, response, (error?: unknown) => {
      if (error !== undefined) return next(error);
      const body: unknown = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        request.body = undefined;
        return next();
      }
      request.bodyLength = body.length;
      if (!isUtf8(request)) return next(new BadRequestError('The request body must be UTF-8 encoded JSON.'));
      if (nestsDeeperThan(body, MAX_BODY_DEPTH)) {
        return next(new BadRequestError(`The request body is nested more than ${MAX_BODY_DEPTH} levels deep.`));
      }
      try {
        request.body = parseJsonBody(body);
      } catch (parseError) {
        return next(new JsonSyntaxError((parseError as Error).message));
      }
      next();
    });
  };
}

/** The path of the first `__proto__` key in a parsed body, if any (iterative walk). */
function protoKeyPath(body: unknown): string | null {
  const stack: Array<{ value: unknown; path: string }> = [{ value: body, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (key === '__proto__') return childPath;
      stack.push({ value: child, path: childPath });
    }
  }
  return null;
}

/** Turns body-parser's errors into the API's own (its messages are not meant for clients). */
function bodyError(error: unknown): Error {
  if (error instanceof ConnectError) {
    return error; // depth or charset, from `parser`
  }
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
 * Parses JSON bodies with a size limit per route and a nesting limit. Runs as Nest middleware so
 * its errors (bad JSON, too large, too deep) reach the one error funnel, ConnectErrorFilter.
 * An empty body stays `undefined` (body-parser would make it `{}`: an empty request is not an
 * empty event). Outside the push routes, whose events report reserved names per field, a
 * `__proto__` key is refused: the validation pipe would silently drop it (and with it, say, an
 * export's filter).
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly batch = parser(MAX_BATCH_BODY);
  private readonly event = parser(MAX_EVENT_BODY);
  private readonly other = parser(MAX_OTHER_BODY);

  use(request: RequestWithBodyLength, response: Response, next: NextFunction): void {
    // Express matches routes case-insensitively, so /EVENTS is a push route too.
    const path = request.originalUrl.split('?')[0].replace(/\/+$/, '').toLowerCase();
    const isBatch = path === '/events';
    const isPush = isBatch || /^\/events\/[^/]+$/.test(path);
    const handler = isBatch ? this.batch : isPush ? this.event : this.other;
    handler(request, response, (error?: unknown) => {
      if (error !== undefined) {
        return next(bodyError(error));
      }
      if (!request.bodyLength) {
        request.body = undefined;
      }
      const protoPath = isPush ? null : protoKeyPath(request.body);
      if (protoPath !== null) {
        return next(ValidationError.of(protoPath, '__proto__ cannot be used as a property name.'));
      }
      next();
    });
  }
}
