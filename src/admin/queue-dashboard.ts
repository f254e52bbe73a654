import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bull';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bull';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ConnectError, DEPENDENCY_RETRY_AFTER_SECONDS, ErrorCode, RateLimitService, sameSecret } from '../common';
import type { AppConfig } from '../config';
import { EXPORT_QUEUE } from '../exports';
import { IMPORT_QUEUE } from '../imports';

/** Where the queue dashboard is served. */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/** The challenge a browser answers with its login dialog. */
export const DASHBOARD_CHALLENGE = 'Basic realm="connect admin"';

/** The admin token a request offers: the password of HTTP Basic credentials (any user name), else `X-Admin-Token`. */
function offeredToken(request: Request): string {
  const authorization = request.headers.authorization ?? '';
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) return decoded.slice(colon + 1);
  }
  const header = request.headers['x-admin-token'];
  return (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
}

/**
 * Lets through requests carrying the admin token, compared in constant time; answers others 401
 * `{"errorMessage"}` with `WWW-Authenticate: Basic realm="connect admin"`, so a browser asks for
 * it. Failed logins count toward the failed-authentication rate limits as a wrong X-Admin-Token
 * does (a request with no credential at all, a browser's first, is only challenged); once used
 * up, the answer is 429 with Retry-After.
 */
function requireAdminToken(token: string, limits: RateLimitService): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    // Job data and errors are the operator's: no shared cache or browser history keeps them.
    response.setHeader('Cache-Control', 'no-store');
    const given = offeredToken(request);
    void (async () => {
      await limits.refuseIfBlocked(request, response, { adminToken: given });
      if (given && sameSecret(given, token)) {
        next();
        return;
      }
      if (given) await limits.recordFailure(request, response, { adminToken: given });
      response.setHeader('WWW-Authenticate', DASHBOARD_CHALLENGE);
      response
        .status(401)
        .json({ errorMessage: 'The queue dashboard needs the admin token: as the password of HTTP Basic auth, or X-Admin-Token.' });
    })().catch((error: unknown) => {
      if (error instanceof ConnectError && error.retryAfterSeconds !== null) {
        response.setHeader('Retry-After', String(error.retryAfterSeconds));
        response.status(error.code === ErrorCode.TooManyRequests ? 429 : 503).json({ errorMessage: error.message });
        return;
      }
      next(error);
    });
  };
}

/**
 * Answers a dashboard request that is still unanswered after `ms` (REDIS_COMMAND_TIMEOUT_MS) with
 * 503 `{"errorMessage"}` and Retry-After. bull-board's API reads the queues with the queues' own
 * Redis clients, whose commands wait without a timeout while Redis is stopped or unreachable, so
 * without this an operator's browser (or a probe) would wait until the socket timed out. Whatever
 * bull-board writes once the 503 is sent is dropped.
 */
function answerWithin(ms: number): RequestHandler {
  return (_request: Request, response: Response, next: NextFunction) => {
    const timer = setTimeout(() => {
      if (response.headersSent) return;
      response.setHeader('Retry-After', String(DEPENDENCY_RETRY_AFTER_SECONDS));
      response.status(503).json({ errorMessage: `The queue dashboard cannot read the queues: Redis did not answer within ${ms} ms.` });
      const dropped = () => response;
      Object.assign(response, { status: dropped, json: dropped, send: dropped, render: dropped, setHeader: dropped });
    }, ms);
    const done = () => clearTimeout(timer);
    response.once('finish', done);
    response.once('close', done);
    next();
  };
}

/**
 * Mounts the Bull dashboard (bull-board) of the export and import queues at /admin/queues, behind
 * the admin token (docs/monitoring.md, "Queue dashboard"); nothing is mounted when ADMIN_TOKEN is
 * unset, so the path answers 404. The board is read-only: exports and imports are driven by their
 * records in PostgreSQL (a job retried, removed or added by hand would not match them), so it shows
 * jobs and counts but offers no action.
 */
export function mountQueueDashboard(app: NestExpressApplication, config: AppConfig): void {
  const { adminToken } = config.secrets;
  if (adminToken === null) return;
  const board = new ExpressAdapter().setBasePath(QUEUE_DASHBOARD_PATH);
  const queues = [EXPORT_QUEUE, IMPORT_QUEUE].map((name) => new BullAdapter(app.get<Queue>(getQueueToken(name)), { readOnlyMode: true }));
  createBullBoard({ queues, serverAdapter: board, options: { uiConfig: { boardTitle: 'Connect queues', hideDocsLink: true } } });
  const router = board.getRouter() as ReturnType<typeof import('express')>;
  router.disable('x-powered-by');
  app.use(
    QUEUE_DASHBOARD_PATH,
    requireAdminToken(adminToken, app.get(RateLimitService)),
    answerWithin(config.redis.commandTimeoutMs),
    router,
  );
}
