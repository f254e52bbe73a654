import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import {
  ADMIN_TOKEN_METADATA,
  AuthenticatedRequest,
  ForbiddenError,
  PERMISSION_METADATA,
  PERMISSION_NAMES,
  PROJECT_LIMIT_METADATA,
  ProjectLimit,
  RateLimitService,
  sameSecret,
  setRequestProject,
  UnauthorizedError,
} from '../common';
import { secretsConfig, SecretsConfig } from '../config';
import { Permission } from './entities/api-key.entity';
import { INVALID_FILTERED_KEY_MESSAGE } from './filtered-key';
import { ProjectsService } from './projects.service';

function header(request: Request, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
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
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_TOKEN_METADATA, targets)) {
      await this.checkAdminToken(header(request, 'x-admin-token'), request, response);
      return true;
    }
    const permission = this.reflector.getAllAndOverride<Permission>(PERMISSION_METADATA, targets);
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
    const limit = this.reflector.getAllAndOverride<ProjectLimit | undefined>(PROJECT_LIMIT_METADATA, targets);
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
