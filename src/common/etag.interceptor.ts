import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { Observable, map } from 'rxjs';

/** A strong entity tag for a JSON body: the SHA-256 (base64url) of its JSON text, quoted. */
export function strongEtag(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url')}"`;
}

/**
 * Caching headers for a JSON GET endpoint (connect-api.md §4.11): `ETag` = `strongEtag(body)`, which
 * connect-js exposes as `results.cacheKey`, and `Cache-Control: private, no-cache` (results depend on the
 * API key headers, so shared caches must not store them; browsers revalidate every time).
 *
 * `If-None-Match` is answered by Express itself: `res.send` keeps an ETag that is already set and turns
 * a 2xx into `304` with no body when the request is fresh (`req.fresh`, which follows RFC 9110 weak
 * comparison and `*`). The tag is a hash of the result, not of the data's version: it changes exactly
 * when the answer changes (new events, a relative timeframe moving on), so a 304 is always correct;
 * it saves the transfer, not the query.
 */
@Injectable()
export class EtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((body: unknown) => {
        response.setHeader('ETag', strongEtag(body));
        response.setHeader('Cache-Control', 'private, no-cache');
        return body;
      }),
    );
  }
}
