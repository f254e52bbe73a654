import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiForbiddenResponse, ApiHeader, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { timingSafeEqual, createHash } from 'node:crypto';
import { AppConfig } from '../config/app.config';
import { KEY_PERMISSIONS, Permission } from '../projects/entities/api-key.entity';
import { ProjectContext, ProjectsService } from '../projects/projects.service';
import { ErrorMessageDto } from './dto/error-response.dto';
import { ForbiddenError, UnauthorizedError } from './errors';

const PERMISSION = 'connect:permission';
const ADMIN = 'connect:admin';

type AuthenticatedRequest = Request & { project?: ProjectContext };

const PERMISSION_NAMES: Record<Permission, string> = {
  push: 'push events',
  query: 'query or export events',
  admin: 'administer this project (master key only)',
};

/**
 * Marks an endpoint as needing `X-Project-Id` + `X-Api-Key` with a key that has `permission`
 * (connect-api.md §1). 401 for a missing or unknown project/key, 403 for a key of the wrong type.
 */
export function RequiresKey(permission: Permission): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(PERMISSION, permission),
    ApiHeader({ name: 'X-Project-Id', required: true, description: 'The project id (24 hex characters).' }),
    ApiHeader({ name: 'X-Api-Key', required: true, description: `An API key of the project allowed to ${PERMISSION_NAMES[permission]}.` }),
    ApiUnauthorizedResponse({ type: ErrorMessageDto, description: 'Missing or unknown project id or API key.' }),
    ApiForbiddenResponse({ type: ErrorMessageDto, description: `The key is not allowed to ${PERMISSION_NAMES[permission]}.` }),
  );
}

/** Marks an operator endpoint guarded by `X-Admin-Token` (env ADMIN_TOKEN; off when unset). */
export function RequiresAdminToken(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ADMIN, true),
    ApiHeader({ name: 'X-Admin-Token', required: true, description: 'The operator token (env ADMIN_TOKEN).' }),
    ApiUnauthorizedResponse({ type: ErrorMessageDto, description: 'Missing or wrong admin token.' }),
    ApiForbiddenResponse({ type: ErrorMessageDto, description: 'Admin endpoints are disabled (ADMIN_TOKEN is not set).' }),
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

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Global guard enforcing `@RequiresKey` and `@RequiresAdminToken`; other endpoints are public. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly projects: ProjectsService,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (this.reflector.getAllAndOverride<boolean>(ADMIN, targets)) {
      this.checkAdminToken(header(request, 'x-admin-token'));
      return true;
    }
    const permission = this.reflector.getAllAndOverride<Permission>(PERMISSION, targets);
    if (!permission) {
      return true;
    }
    const projectId = header(request, 'x-project-id');
    const apiKey = header(request, 'x-api-key');
    if (!projectId || !apiKey) {
      throw new UnauthorizedError('Unauthorised. Please check your Project Id and API Key (headers X-Project-Id and X-Api-Key).');
    }
    const project = await this.projects.authenticate(projectId, apiKey);
    if (!project) {
      throw new UnauthorizedError('Unauthorised. Please check your Project Id and API Key.');
    }
    if (!KEY_PERMISSIONS[project.keyType].includes(permission)) {
      throw new ForbiddenError(`This API key is not allowed to ${PERMISSION_NAMES[permission]}.`);
    }
    request.project = project;
    return true;
  }

  private checkAdminToken(given: string): void {
    if (this.config.adminToken === null) {
      throw new ForbiddenError('Admin endpoints are disabled. Set ADMIN_TOKEN to enable them.');
    }
    if (!given || !sameSecret(given, this.config.adminToken)) {
      throw new UnauthorizedError('Missing or wrong X-Admin-Token.');
    }
  }
}
