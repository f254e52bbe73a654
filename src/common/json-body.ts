import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBadRequestResponse, ApiPayloadTooLargeResponse, ApiUnsupportedMediaTypeResponse } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { Observable } from 'rxjs';
import { errorExamples } from './dto/error-examples';
import { ErrorMessageDto } from './dto/error-response.dto';
import { BadRequestError, ConnectError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from './errors';
import { closesForShutdown } from './graceful-shutdown';
import { parseJsonBody } from './json-text';

/** Largest body of `POST /events` (a batch of up to 5,000 events), bytes (32 MiB). */
export const MAX_BATCH_BODY = 32 * 1024 * 1024;
/** Largest body of `POST /events/:collection`, bytes (1 MiB); the event itself is limited to 64 KB after parsing. */
export const MAX_EVENT_BODY = 1024 * 1024;
/** Largest body of every other endpoint that takes one, bytes (256 KiB). */
export const MAX_OTHER_BODY = 256 * 1024;
/** Deepest nesting of objects and arrays in a request body (events themselves: 64 levels). */
export const MAX_BODY_DEPTH = 100;

/** What an endpoint accepts as its JSON body (see `JsonBody`). */
export interface JsonBodySpec {
  /** Largest body, bytes; a larger declared `Content-Length` or a longer stream → 413. */
  limitBytes: number;
  /**
   * Whether `__proto__` keys pass through to the handler. Only the push endpoints allow them,
   * because their event validation reports reserved names per field; elsewhere the validation
   * pipe would silently drop such a key (and with it, say, an export's filter), so it is a 422.
   */
  allowProtoKeys?: boolean;
}

const JSON_BODY = 'connect:json-body';

/** `1048576` → `1 MiB (1,048,576 bytes)`, for the 413's description. */
function bytesText(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  const size = Number.isInteger(mib) ? `${mib} MiB` : `${bytes / 1024} KiB`;
  return `${size} (${bytes.toLocaleString('en-US')} bytes)`;
}

/**
 * Marks an endpoint as taking a JSON body. Only such endpoints read one, and only after the global
 * guard has authenticated the request (`JsonBodyInterceptor`); on every other endpoint
 * `request.body` is `undefined` and the bytes are never read. Documents the 400, 413 and 415 that
 * `readJsonBody` answers; an endpoint documents its own further reasons for a 400 or 413 with
 * `@ApiBadRequestResponse` / `@ApiPayloadTooLargeResponse` placed below this decorator (the
 * descriptions and examples are merged).
 */
export function JsonBody(spec: JsonBodySpec): MethodDecorator {
  return applyDecorators(
    SetMetadata(JSON_BODY, spec),
    ApiBadRequestResponse({
      type: ErrorMessageDto,
      description: 'The body is not JSON, nests deeper than 100 levels, or declares a charset other than UTF-8.',
      examples: errorExamples('invalidJson', 'tooDeep', 'notUtf8'),
    }),
    ApiPayloadTooLargeResponse({
      type: ErrorMessageDto,
      description: `The body is over ${bytesText(spec.limitBytes)}: by its declared Content-Length (answered before reading) or as read.`,
      examples: errorExamples('bodyTooLarge'),
    }),
    ApiUnsupportedMediaTypeResponse({
      type: ErrorMessageDto,
      description: 'A `Content-Encoding` other than `identity`: request bodies are read as plain JSON only.',
      examples: errorExamples('compressedBody'),
    }),
  );
}

/** Whether the request announces a body (RFC 9112 §6.3: a `Transfer-Encoding`, or a non-zero `Content-Length`). */
export function announcesBody(request: Request): boolean {
  if (request.headers['transfer-encoding'] !== undefined) {
    return true;
  }
  const length = request.headers['content-length'];
  return length !== undefined && length.trim() !== '0';
}

/**
 * Express middleware run before routing, for requests that announce a body. Their response says
 * `Connection: close`, so that when the body is not read (authentication failed, the endpoint
 * takes none, it is too large, compressed) the server answers and closes the connection instead of
 * draining the rest of the body to keep it alive; `readJsonBody` lifts this once it has read the
 * whole body.
 *
 * Node closes such a connection with `socket.destroySoon()`, which destroys it as soon as the answer
 * is flushed; with request bytes still arriving, that close sends a TCP reset, and a client still
 * sending can lose the answer before reading it (seen: EPIPE instead of the 401). So, as web
 * servers' "lingering close" does, the socket instead ends our side (FIN after the answer), keeps
 * discarding what arrives, and is destroyed after `lingerMs` unless the client closes first.
 * @param lingerMs how long to keep discarding after the answer, ms (`HTTP_CLOSE_LINGER_MS`).
 */
export function closeUnreadBodies(lingerMs: number): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    if (announcesBody(request)) {
      response.setHeader('Connection', 'close');
      const socket = request.socket;
      socket.destroySoon = () => {
        socket.end();
        request.resume(); // discard the rest of the body (raw-body pauses it when it stops reading)
        const timer = setTimeout(() => socket.destroy(), lingerMs);
        socket.once('close', () => clearTimeout(timer));
      };
    }
    next();
  };
}

/**
 * Whether JSON text nests objects/arrays deeper than `limit`. A linear scan of the raw bytes
 * (brackets inside strings do not count), run before parsing so that no recursive code later
 * (serialisation, validation) can be driven into a stack overflow.
 */
export function nestsDeeperThan(json: Buffer | string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  const text = typeof json === 'string';
  for (let i = 0; i < json.length; i++) {
    // Only ASCII characters are structural, so a string's UTF-16 code units serve as well as bytes.
    const byte = text ? json.charCodeAt(i) : json[i];
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

const TOO_LARGE = 'The request body is too large.';

/** The charset parameter of the Content-Type, lower-cased, or null when absent. */
function charsetOf(request: Request): string | null {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '');
  return match ? match[1].toLowerCase() : null;
}

/**
 * Reads and parses the JSON body of an authenticated request, whatever its `Content-Type`
 * (curl -d sends form encoding by default).
 * @returns the parsed body (any JSON type; a non-object is left for the endpoint to refuse with
 *   its own message), or `undefined` when the body is empty (an empty request is not an empty event).
 * @throws UnsupportedMediaTypeError (415) for a `Content-Encoding` other than `identity`, before reading.
 * @throws PayloadTooLargeError (413) when the declared `Content-Length` exceeds `spec.limitBytes`
 *   (before reading), or the body does while streaming (reading stops there).
 * @throws BadRequestError (400) for a charset other than UTF-8, a body that could not be read
 *   (client aborted, shorter than declared), nesting deeper than `MAX_BODY_DEPTH`, or text that is not JSON.
 * @throws ValidationError (422) for a `__proto__` key, unless `spec.allowProtoKeys`.
 */
export async function readJsonBody(request: Request, response: Response, spec: JsonBodySpec): Promise<unknown> {
  if (!announcesBody(request)) {
    return undefined;
  }
  const encoding = (request.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new UnsupportedMediaTypeError('Compressed request bodies are not supported: send the JSON without a Content-Encoding.');
  }
  const charset = charsetOf(request);
  if (charset !== null && charset !== 'utf-8' && charset !== 'utf8') {
    throw new BadRequestError('The request body must be UTF-8 encoded JSON.');
  }
  const declared = request.headers['content-length'];
  const length = declared === undefined ? null : Number(declared);
  if (length !== null && length > spec.limitBytes) {
    throw new PayloadTooLargeError(TOO_LARGE);
  }
  // The server holds back `100 Continue` (createHttpApp), so a client that waits for it sends
  // nothing until the request has been authenticated and its declared size accepted.
  if (/^100-continue$/i.test(request.headers.expect ?? '')) {
    response.writeContinue();
  }
  let raw: Buffer;
  try {
    raw = await getRawBody(request, { length, limit: spec.limitBytes });
  } catch (error) {
    throw (error as { type?: string }).type === 'entity.too.large'
      ? new PayloadTooLargeError(TOO_LARGE)
      : new BadRequestError('The request body could not be read.');
  }
  // The whole body is in: the connection can serve the client's next request (unless the server is stopping).
  if (!closesForShutdown(response)) response.removeHeader('Connection');
  if (raw.length === 0) {
    return undefined;
  }
  if (nestsDeeperThan(raw, MAX_BODY_DEPTH)) {
    throw new BadRequestError(`The request body is nested more than ${MAX_BODY_DEPTH} levels deep.`);
  }
  let body: unknown;
  try {
    body = parseJsonBody(raw);
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    throw new BadRequestError(`The request body is not valid JSON: ${(error as Error).message}.`);
  }
  const protoPath = spec.allowProtoKeys ? null : protoKeyPath(body);
  if (protoPath !== null) {
    throw ValidationError.of(protoPath, '__proto__ cannot be used as a property name.');
  }
  return body;
}

/**
 * Global interceptor that sets `request.body`: parsed by `readJsonBody` on endpoints marked
 * `@JsonBody`, `undefined` everywhere else. Nest runs it after the guards, so a request that fails
 * authentication (401/403) is answered before any byte of its body is read, decompressed or
 * parsed; its errors reach the one error funnel like any other.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() === 'http') {
      const http = context.switchToHttp();
      const request = http.getRequest<Request>();
      const spec = this.reflector.get<JsonBodySpec | undefined>(JSON_BODY, context.getHandler());
      request.body = spec ? await readJsonBody(request, http.getResponse<Response>(), spec) : undefined;
    }
    return next.handle();
  }
}
