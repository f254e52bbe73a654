import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type pino from 'pino';
import { pinoHttp } from 'pino-http';
import { requestIdOf, routePatternOf } from '../common';
import type { ProjectContext } from '../projects';

/** The fields of an access line (docs/logging.md, "The access line"). */
export interface AccessLine {
  context: 'HttpAccess';
  event: 'http.request';
  reqId: string;
  method: string;
  /** The route pattern that answered (`/events/:collection`; routePatternOf); null when none matched (404) or before routing. */
  route: string | null;
  /** The status sent; null when the client went away before the response started. */
  status: number | null;
  /** From the first middleware to the response's end (or the connection's close), ms. */
  durationMs: number;
  /** The authenticated project and the type of its key; absent before (or without) authentication. */
  projectId?: string;
  keyType?: string;
  /** Present (true) when the client closed the connection before the whole response was sent. */
  aborted?: true;
}

const FIELDS = Symbol('accessLine');
type Answered = Response & { [FIELDS]?: AccessLine };

function accessLine(request: Request, response: Answered, durationMs: number): AccessLine {
  const project = (request as Request & { project?: ProjectContext }).project;
  const line: AccessLine = {
    context: 'HttpAccess',
    event: 'http.request',
    reqId: typeof request.id === 'object' ? JSON.stringify(request.id) : String(request.id),
    method: request.method,
    route: routePatternOf(request),
    status: response.headersSent ? response.statusCode : null,
    durationMs,
    ...(project ? { projectId: project.projectId, keyType: project.keyType } : {}),
    ...(response.writableEnded ? {} : { aborted: true as const }),
  };
  response[FIELDS] = line;
  return line;
}

function message(response: Answered): string {
  const line = response[FIELDS]!;
  return `${line.method} ${line.route ?? '(no route)'} ${line.status ?? '-'} ${line.durationMs} ms${line.aborted ? ' (aborted)' : ''}`;
}

/**
 * Express middleware (pino-http), right after `requestIds`: one access line per request when its
 * response ends or its connection closes, at info (warn for 5xx), with only the fields of
 * AccessLine. The request's URL (its query string may hold `api_key` or a filtered key), headers
 * and body are never logged: nothing of the request is bound to its logger.
 */
export function accessLog(logger: pino.Logger): (request: Request, response: Response, next: NextFunction) => void {
  const omit = (): undefined => undefined;
  return pinoHttp<Request, Response>({
    logger,
    genReqId: (request, response) => requestIdOf(response) ?? randomUUID(),
    wrapSerializers: false,
    serializers: { req: omit, res: omit },
    customLogLevel: (_request, response) => (response.statusCode >= 500 ? 'warn' : 'info'),
    customSuccessObject: (request, response, value: { responseTime: number }) => accessLine(request, response, value.responseTime),
    customErrorObject: (request, response, _error, value: { responseTime: number }) => accessLine(request, response, value.responseTime),
    customSuccessMessage: (_request, response) => message(response),
    customErrorMessage: (_request, response) => message(response),
  });
}
