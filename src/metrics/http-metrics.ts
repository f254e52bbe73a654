import type { NextFunction, Request, Response } from 'express';
import { Metrics } from './metrics';

/**
 * The `route` label of a request: the pattern of the Express route that answered it
 * (`/events/:collection`, mounted routers' prefix included), `<prefix>/*` for a mounted router's
 * files (the queue dashboard's scripts), `unmatched` for anything else (404s), so the label's
 * values stay few whatever paths clients send.
 */
function routeOf(request: Request): string {
  const path: unknown = (request.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return `${request.baseUrl}${path}`;
  return request.baseUrl ? `${request.baseUrl}/*` : 'unmatched';
}

/**
 * Express middleware observing `http_request_duration_seconds{method,route,status}`: from the
 * request's arrival at this middleware to the last byte of its answer. A request whose client went
 * away before the answer ended is not observed.
 */
export function httpMetrics(metrics: Metrics): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const start = process.hrtime.bigint();
    response.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpRequestDuration.observe(
        { method: request.method, route: routeOf(request), status: String(response.statusCode) },
        seconds,
      );
    });
    next();
  };
}
