import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { Observable, map } from 'rxjs';
import { stringifyJson } from './json-text';

/** A strong entity tag for JSON text: the SHA-256 (base64url) of the text, quoted. */
export function strongEtag(jsonText: string): string {
  return `"${createHash('sha256').update(jsonText).digest('base64url')}"`;
}

/**
 * Writes a JSON GET endpoint's body and its caching headers (docs/query-language.md, "Queries": ETag, 304). The body is
 * written here, with `stringifyJson`, so ExactNumbers (common/json-text.ts: aggregates a double would
 * round) go out digit for digit, and the tag is the hash of exactly the bytes sent.
 *
 * `ETag` = `strongEtag(text)`, which
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
        const text = stringifyJson(body);
        response.setHeader('ETag', strongEtag(text));
        response.setHeader('Cache-Control', 'private, no-cache');
        // A string is sent as it is (`res.send`); the type says it is JSON.
        response.setHeader('Content-Type', 'application/json; charset=utf-8');
        return text;
      }),
    );
  }
}
