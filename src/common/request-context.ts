import type { NextFunction, Request, Response } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** Response (and optional request) header carrying the request id. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An incoming id is kept only when it is this safe to log and echo (no spaces, no control characters). */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What every log line written while a request is handled carries (src/logging/logger.ts). */
interface RequestContext {
  requestId: string;
  /** The authenticated project, once ApiKeyGuard has verified the key. */
  projectId?: string;
}

const context = new AsyncLocalStorage<RequestContext>();

/** The id of the request being handled, or undefined outside a request (startup, the export worker). */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/** Runs `fn` as part of the request `requestId` (its log lines carry the id). */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  const current = context.getStore();
  return current?.requestId === requestId ? fn() : context.run({ requestId }, fn);
}

/** Records the request's authenticated project: the request's later log lines carry `projectId`. */
export function setRequestProject(projectId: string): void {
  const store = context.getStore();
  if (store) store.projectId = projectId;
}

/**
 * The fields of the request being handled for a log line: `reqId`, and `projectId` once known;
 * empty outside a request. The root logger merges them into every line (its `mixin`).
 */
export function requestLogFields(): { reqId?: string; projectId?: string } {
  const store = context.getStore();
  if (!store) return {};
  return store.projectId === undefined ? { reqId: store.requestId } : { reqId: store.requestId, projectId: store.projectId };
}

/** The id `requestIds` gave this response, if any. */
export function requestIdOf(response: Response): string | undefined {
  return (response.locals as Record<string, unknown> | undefined)?.requestId as string | undefined;
}

/**
 * Express middleware, first of all: gives each request an id, the incoming `X-Request-Id` when it
 * matches `^[A-Za-z0-9._:-]{1,128}$`, else a new UUID v4. The id is sent back as `X-Request-Id` on
 * every response (errors included) and everything that runs for the request sees it through
 * `currentRequestId()`, so every log line written meanwhile carries it as `reqId` (docs/logging.md).
 */
export function requestIds(request: Request, response: Response, next: NextFunction): void {
  const given = request.headers['x-request-id'];
  const requestId = typeof given === 'string' && WELL_FORMED_ID.test(given) ? given : randomUUID();
  response.locals.requestId = requestId;
  response.setHeader(REQUEST_ID_HEADER, requestId);
  context.run({ requestId }, next);
}

/**
 * The route pattern that answered `request`, never its URL: the Express route's path with the
 * mount path of its router (`/events/:collection`, `/admin/queues/api/queues`), `<mount path>/*`
 * for a mounted router's other paths (the queue dashboard's files), null when nothing matched (a
 * 404, a CORS preflight) or before routing. Shared by the access line and the metrics' `route`
 * label, whose values it keeps few whatever paths clients send.
 */
export function routePatternOf(request: Request): string | null {
  const path: unknown = (request.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return `${request.baseUrl}${path}`;
  return request.baseUrl ? `${request.baseUrl}/*` : null;
}
