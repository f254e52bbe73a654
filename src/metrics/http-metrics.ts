import type { NextFunction, Request, Response } from 'express';
import { routePatternOf } from '../common';
import { Metrics } from './metrics';

/**
 * Express middleware observing `http_request_duration_seconds{method,route,status}` (`route`: the
 * route pattern, routePatternOf, or `unmatched`): from the
 * request's arrival at this middleware to the last byte of its answer. A request whose client went
 * away before the answer ended is not observed.
 */
export function httpMetrics(metrics: Metrics): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const start = process.hrtime.bigint();
    response.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpRequestDuration.observe(
        { method: request.method, route: routePatternOf(request) ?? 'unmatched', status: String(response.statusCode) },
        seconds,
      );
    });
    next();
  };
}
