import { ConsoleLogger, LogLevel } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** Response (and optional request) header carrying the request id. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An incoming id is kept only when it is this safe to log and echo (no spaces, no control characters). */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const context = new AsyncLocalStorage<{ requestId: string }>();

/** The id of the request being handled, or undefined outside a request (startup, the export worker). */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/** Runs `fn` as part of the request `requestId` (its log lines carry the id). */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return context.run({ requestId }, fn);
}

/** The id `requestIds` gave this response, if any. */
export function requestIdOf(response: Response): string | undefined {
  return (response.locals as Record<string, unknown> | undefined)?.requestId as string | undefined;
}

/**
 * Express middleware, first of all: gives each request an id, the incoming `X-Request-Id` when it
 * matches `^[A-Za-z0-9._:-]{1,128}$`, else a new UUID v4. The id is sent back as `X-Request-Id` on
 * every response (errors included) and everything that runs for the request sees it through
 * `currentRequestId()`, so `RequestLogger` puts it in every log line written meanwhile.
 */
export function requestIds(request: Request, response: Response, next: NextFunction): void {
  const given = request.headers['x-request-id'];
  const requestId = typeof given === 'string' && WELL_FORMED_ID.test(given) ? given : randomUUID();
  response.locals.requestId = requestId;
  response.setHeader(REQUEST_ID_HEADER, requestId);
  withRequestId(requestId, next);
}

/**
 * Nest's console logger, with `request <id> ` before every text message logged while a request is
 * handled (messages that already start with it are left alone). `createHttpApp` installs it as
 * the application logger, so every `new Logger(context)` in the code writes through it.
 */
export class RequestLogger extends ConsoleLogger {
  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
    timestampDiff: string,
  ): string {
    const requestId = currentRequestId();
    if (requestId !== undefined && typeof message === 'string' && !message.startsWith(`request ${requestId} `)) {
      message = `request ${requestId} ${message}`;
    }
    return super.formatMessage(logLevel, message, pidMessage, formattedLogLevel, contextMessage, timestampDiff);
  }
}
