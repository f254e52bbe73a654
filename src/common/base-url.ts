import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/**
 * Base of absolute URLs for this request: PUBLIC_BASE_URL when set (behind a proxy), else the
 * request's own scheme and Host. Set by `configureApp` as `request.app.locals.publicBaseUrl`.
 */
export const BaseUrl = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const request = ctx.switchToHttp().getRequest<Request>();
  const configured = request.app.locals.publicBaseUrl as string | null | undefined;
  return configured ?? `${request.protocol}://${request.get('host') ?? 'localhost'}`;
});
