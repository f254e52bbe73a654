import { createParamDecorator, ExecutionContext, SetMetadata, applyDecorators } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Permission, ProjectContext } from '../projects';
import { ErrorExampleName, errorExamples } from './dto/error-examples';
import { ErrorMessageDto } from './dto/error-response.dto';
import type { ProjectLimit } from './rate-limit';

/**
 * The endpoint decorators of authentication: what an endpoint needs, as metadata that ApiKeyGuard
 * (projects/api-key.guard.ts) enforces, and its OpenAPI documentation. Only types come from projects/,
 * so every feature module can use these without loading ProjectsService.
 */

/** Metadata keys read by ApiKeyGuard: the permission `@RequiresKey` asks for, `@RequiresAdminToken`, the project limit. */
export const PERMISSION_METADATA = 'connect:permission';
export const ADMIN_TOKEN_METADATA = 'connect:admin';
export const PROJECT_LIMIT_METADATA = 'connect:project-limit';

/** A request once ApiKeyGuard has authenticated its key. */
export type AuthenticatedRequest = Request & { project?: ProjectContext };

/** What each permission allows, in the words of the 403 (and its OpenAPI description). */
export const PERMISSION_NAMES: Record<Permission, string> = {
  push: 'push events',
  query: 'query or export events',
  master: 'administer this project (master key only)',
};

const FILTERED_KEY_FORM =
  '`<IV: 32 hex characters>-<ciphertext: hex>` (either case): `{"filters": {...}, "canQuery": bool, "canPush": bool}` ' +
  'encrypted with AES-256-CBC and the master key, as the Connect SDKs generate it (docs/keys.md)';

/**
 * Names of the OpenAPI security schemes (`buildOpenApiDocument` declares them): Swagger UI's
 * Authorize dialog asks for each once and sends it as its header on every operation that needs it.
 */
export const SECURITY_SCHEMES = { projectId: 'projectId', apiKey: 'apiKey', adminToken: 'adminToken' } as const;

/** Which keys an endpoint takes (docs/api.md, "Keys and projects"; docs/keys.md), shown in its 403's description. */
const API_KEY_DOCS: Record<Permission, string> = {
  push: `The master, push/query or push key of the project, or a filtered key with \`"canPush": true\`: ${FILTERED_KEY_FORM}.`,
  query:
    'The master, push/query or query key of the project, or a filtered key with `"canQuery": true`, whose `filters` are ' +
    `ANDed with the request's own filter: ${FILTERED_KEY_FORM}.`,
  master: 'The master key of the project (no other key, filtered keys included).',
};

const RATE_LIMIT_HEADERS = {
  'Retry-After': { description: 'Seconds until the limit allows a request again.', schema: { type: 'integer' } },
  'RateLimit-Limit': { description: 'Requests (or failed authentications) allowed per window.', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Requests left in the current window (0).', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until the current window ends.', schema: { type: 'integer' } },
};

/** The 403 example of each permission: the body a key without it gets. */
const FORBIDDEN_EXAMPLE: Record<Permission, ErrorExampleName> = { push: 'cannotPush', query: 'cannotQuery', master: 'notMasterKey' };

/** The 429 example of each per-project limit. */
const PROJECT_LIMIT_EXAMPLE: Record<ProjectLimit, ErrorExampleName> = {
  pushes: 'tooManyPushes',
  queries: 'tooManyQueries',
  smallExports: 'tooManySmallExports',
  s3Exports: 'tooManyS3Exports',
};

const PROJECT_LIMIT_DOCS: Record<ProjectLimit, string> = {
  pushes: 'too many push requests for this project',
  queries: 'too many queries (or export monitor reads, cancellations and listings) for this project',
  smallExports: 'too many exports for this project',
  s3Exports: 'too many S3 exports for this project',
};

/**
 * Every authenticated endpoint can answer 503: its key lookup needs PostgreSQL. Endpoints with
 * more reasons (a statement timeout, a busy stream pool) document those on their own 503.
 */
const DEPENDENCY_UNAVAILABLE = {
  type: ErrorMessageDto,
  description: 'PostgreSQL (or Redis) does not answer, with Retry-After (docs/operations.md, "When PostgreSQL or Redis is down").',
  headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } },
  examples: errorExamples('dependencyUnavailable'),
};

const FAILED_AUTH_DOC =
  'too many failed authentications from this client address or with this credential (answered without looking the key up)';

/**
 * Marks an endpoint as needing `X-Project-Id` + `X-Api-Key` with a key that has `permission`
 * (docs/api.md, "Keys and projects"; filtered keys: docs/keys.md). 401 for a missing or unknown
 * project/key or an invalid filtered key, 403 for a key of the wrong type (or a filtered key without the permission),
 * 429 when a rate limit is used up: failed authentications, or the project's `limit` (counted
 * per request once the key is verified; success answers then carry `RateLimit-*` headers).
 */
export function RequiresKey(
  permission: Permission,
  limit?: ProjectLimit,
  docs: {
    /** Another reason for a 429 the endpoint itself answers (with Retry-After), for its documentation. */ tooManyRequests?: string;
    /** The example body of that 429. */ tooManyRequestsExample?: ErrorExampleName;
  } = {},
): MethodDecorator & ClassDecorator {
  const tooManyExamples: ErrorExampleName[] = ['tooManyFailedAuthentications'];
  if (limit) tooManyExamples.push(PROJECT_LIMIT_EXAMPLE[limit]);
  if (docs.tooManyRequestsExample) tooManyExamples.push(docs.tooManyRequestsExample);
  return applyDecorators(
    SetMetadata(PERMISSION_METADATA, permission),
    SetMetadata(PROJECT_LIMIT_METADATA, limit),
    // One requirement naming both schemes: the two headers are sent together (OpenAPI: AND).
    ApiSecurity({ [SECURITY_SCHEMES.projectId]: [], [SECURITY_SCHEMES.apiKey]: [] }),
    ApiUnauthorizedResponse({
      type: ErrorMessageDto,
      description:
        'No X-Project-Id or X-Api-Key header, an unknown project id or API key, or a filtered key that is invalid for the project; ' +
        'an unknown id and a wrong key get the same message.',
      examples: errorExamples('missingCredentials', 'wrongCredentials', 'invalidFilteredKey'),
    }),
    ApiForbiddenResponse({
      type: ErrorMessageDto,
      description: `The key is valid but not allowed to ${PERMISSION_NAMES[permission]}. This endpoint takes: ${API_KEY_DOCS[permission]}`,
      examples: errorExamples(FORBIDDEN_EXAMPLE[permission]),
    }),
    ApiTooManyRequestsResponse({
      type: ErrorMessageDto,
      description:
        `Rate limit used up: ${limit ? `${PROJECT_LIMIT_DOCS[limit]}, or ` : ''}${FAILED_AUTH_DOC}` +
        (docs.tooManyRequests ? `; or ${docs.tooManyRequests}.` : '.'),
      headers: RATE_LIMIT_HEADERS,
      examples: errorExamples(...tooManyExamples),
    }),
    ApiServiceUnavailableResponse(DEPENDENCY_UNAVAILABLE),
  );
}

/** Marks an operator endpoint guarded by `X-Admin-Token` (env ADMIN_TOKEN; off when unset). */
export function RequiresAdminToken(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ADMIN_TOKEN_METADATA, true),
    ApiSecurity(SECURITY_SCHEMES.adminToken),
    ApiUnauthorizedResponse({
      type: ErrorMessageDto,
      description: 'No X-Admin-Token header, or not the operator token.',
      examples: errorExamples('wrongAdminToken'),
    }),
    ApiForbiddenResponse({
      type: ErrorMessageDto,
      description: 'Admin endpoints are disabled: ADMIN_TOKEN is not set (whatever token is sent).',
      examples: errorExamples('adminDisabled'),
    }),
    ApiTooManyRequestsResponse({
      type: ErrorMessageDto,
      description: `Rate limit used up: ${FAILED_AUTH_DOC}.`,
      headers: RATE_LIMIT_HEADERS,
      examples: errorExamples('tooManyFailedAuthentications'),
    }),
    ApiServiceUnavailableResponse(DEPENDENCY_UNAVAILABLE),
  );
}

/** The authenticated project of the request (set by `ApiKeyGuard`). */
export const CurrentProject = createParamDecorator((_: unknown, ctx: ExecutionContext): ProjectContext => {
  const project = ctx.switchToHttp().getRequest<AuthenticatedRequest>().project;
  if (!project) {
    throw new Error('CurrentProject used on an endpoint without @RequiresKey');
  }
  return project;
});

/** Whether two secrets are equal, compared in constant time (of their SHA-256 digests, so lengths leak nothing either). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
