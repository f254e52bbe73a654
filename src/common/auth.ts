import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable, SetMetadata, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ApiForbiddenResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { timingSafeEqual, createHash } from 'node:crypto';
import { SecretsConfig, secretsConfig } from '../config/secrets.config';
import { Permission } from '../projects/entities/api-key.entity';
import { INVALID_FILTERED_KEY_MESSAGE } from '../projects/filtered-key';
import { ProjectContext, ProjectsService } from '../projects/projects.service';
import { ErrorExampleName, errorExamples } from './dto/error-examples';
import { ErrorMessageDto } from './dto/error-response.dto';
import { ForbiddenError, UnauthorizedError } from './errors';
import { ProjectLimit, RateLimitService } from './rate-limit';
import { setRequestProject } from './request-context';

const PERMISSION = 'connect:permission';
const ADMIN = 'connect:admin';
const PROJECT_LIMIT = 'connect:project-limit';

type AuthenticatedRequest = Request & { project?: ProjectContext };

const PERMISSION_NAMES: Record<Permission, string> = {
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

/** Which keys an endpoint takes (README, "Keys and projects"; docs/keys.md), shown in its 403's description. */
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
 * (README, "Keys and projects"; filtered keys: docs/keys.md). 401 for a missing or unknown
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
    SetMetadata(PERMISSION, permission),
    SetMetadata(PROJECT_LIMIT, limit),
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
    SetMetadata(ADMIN, true),
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

function header(request: Request, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

/** Whether two secrets are equal, compared in constant time (of their SHA-256 digests, so lengths leak nothing either). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Global guard enforcing `@RequiresKey` and `@RequiresAdminToken`; other endpoints are public.
 * Rate limits (RateLimitService) are checked here, before any other work: a blocked address or
 * credential is refused before the credential is looked up, every 401 is counted, and the
 * project's limit is counted once the key is verified.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly projects: ProjectsService,
    @Inject(secretsConfig.KEY) private readonly secretsConfig: SecretsConfig,
    private readonly limits: RateLimitService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    if (this.reflector.getAllAndOverride<boolean>(ADMIN, targets)) {
      await this.checkAdminToken(header(request, 'x-admin-token'), request, response);
      return true;
    }
    const permission = this.reflector.getAllAndOverride<Permission>(PERMISSION, targets);
    if (!permission) {
      return true;
    }
    const credential = { projectId: header(request, 'x-project-id'), apiKey: header(request, 'x-api-key') };
    await this.limits.refuseIfBlocked(request, response, credential);
    if (!credential.projectId || !credential.apiKey) {
      await this.limits.recordFailure(request, response, credential);
      throw new UnauthorizedError('Unauthorised. Please check your Project Id and API Key (headers X-Project-Id and X-Api-Key).');
    }
    const project = await this.projects.authenticate(credential.projectId, credential.apiKey);
    if (typeof project === 'string') {
      await this.limits.recordFailure(request, response, credential);
      throw new UnauthorizedError(
        project === 'invalid-filtered-key' ? INVALID_FILTERED_KEY_MESSAGE : 'Unauthorised. Please check your Project Id and API Key.',
      );
    }
    if (!project.permissions.includes(permission)) {
      throw new ForbiddenError(`This API key is not allowed to ${PERMISSION_NAMES[permission]}.`);
    }
    const limit = this.reflector.getAllAndOverride<ProjectLimit | undefined>(PROJECT_LIMIT, targets);
    if (limit) {
      await this.limits.consumeProject(limit, project.projectId, response);
    }
    request.project = project;
    setRequestProject(project.projectId);
    return true;
  }

  private async checkAdminToken(given: string, request: Request, response: Response): Promise<void> {
    if (this.secretsConfig.adminToken === null) {
      throw new ForbiddenError('Admin endpoints are disabled. Set ADMIN_TOKEN to enable them.');
    }
    await this.limits.refuseIfBlocked(request, response, { adminToken: given });
    if (!given || !sameSecret(given, this.secretsConfig.adminToken)) {
      await this.limits.recordFailure(request, response, { adminToken: given });
      throw new UnauthorizedError('Missing or wrong X-Admin-Token.');
    }
  }
}
