import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/**
 * Base of absolute URLs for this request: PUBLIC_BASE_URL when set (behind a proxy; `createHttpApp`
 * puts it in `app.locals.publicBaseUrl`), else the request's own scheme and Host header when that
 * is a plain host[:port], else `http://localhost`.
 */
export const BaseUrl = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const request = ctx.switchToHttp().getRequest<Request>();
  const configured = request.app.locals.publicBaseUrl as string | null | undefined;
  if (configured) {
    return configured;
  }
  // The Host header is the client's to choose; only a plain host[:port] makes it into a URL.
  const host = request.get('host') ?? '';
  return HOST.test(host) ? `${request.protocol}://${host}` : 'http://localhost';
});

/** A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
