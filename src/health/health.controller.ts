import { Controller, Get, Res } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DEPENDENCY_RETRY_AFTER_SECONDS, errorExamples, ErrorMessageDto } from '../common';
import { HealthService, Liveness, NOT_READY_MESSAGES } from './health.service';

const up = { status: 'up' } as const;

const READY_EXAMPLE = {
  status: 'ok',
  info: { postgres: up, redis: up, migrations: up },
  error: {},
  details: { postgres: up, redis: up, migrations: up },
};

/** A not-ready answer: `down` are the failing checks, the others are up. */
function notReady(down: Record<string, { status: 'down'; message: string }>): HealthCheckResult {
  const info = Object.fromEntries(['postgres', 'redis', 'migrations'].filter((name) => !(name in down)).map((name) => [name, up]));
  return { status: 'error', info, error: down, details: { postgres: up, redis: up, migrations: up, ...down } };
}

/** The 503 examples: what a probe sees when Redis hangs, and when PostgreSQL refuses connections (test/openapi-examples.e2e-spec.ts). */
const NOT_READY_EXAMPLES = {
  notReadyRedis: {
    summary: 'Redis does not answer PING within 1 s (Retry-After: 5)',
    value: notReady({ redis: { status: 'down', message: NOT_READY_MESSAGES.redis.timeout } }),
  },
  notReadyPostgres: {
    summary: 'PostgreSQL refuses connections: the migrations table cannot be read either (Retry-After: 5)',
    value: notReady({
      postgres: { status: 'down', message: NOT_READY_MESSAGES.postgres.error },
      migrations: { status: 'down', message: NOT_READY_MESSAGES.migrations.error },
    }),
  },
};

/** `/health` (liveness) and `/health/ready` (readiness), unauthenticated (docs/monitoring.md, "Health"). */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({
    summary: 'Liveness of the service and its dependencies (PostgreSQL, Redis)',
    description: 'Pings PostgreSQL and Redis, each for at most 2 s. Needs no credentials.',
  })
  @ApiOkResponse({
    description: 'PostgreSQL and Redis both answered.',
    schema: { example: { status: 'ok', postgres: 'up', redis: 'up' } },
  })
  @ApiServiceUnavailableResponse({
    type: ErrorMessageDto,
    description: 'PostgreSQL or Redis (or both) does not answer within 2 s; with Retry-After.',
    headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } },
    examples: errorExamples('unhealthyPostgres', 'unhealthyRedis'),
  })
  check(): Promise<Liveness> {
    return this.health.liveness();
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: PostgreSQL and Redis answer, and every migration is applied',
    description:
      'For load balancers and Kubernetes readiness probes (docs/monitoring.md). Each check waits at most 1 s; the answer ' +
      'names every check under `details`, the failing ones under `error` (`migrations` lists the names not applied). ' +
      'Needs no credentials.',
  })
  @ApiOkResponse({ description: 'Every check passed.', schema: { example: READY_EXAMPLE } })
  @ApiServiceUnavailableResponse({
    description: 'At least one check failed; `error` names it, with Retry-After.',
    headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } },
    examples: NOT_READY_EXAMPLES,
  })
  async ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    const { ready, result } = await this.health.readiness();
    if (!ready) response.status(503).setHeader('Retry-After', String(DEPENDENCY_RETRY_AFTER_SECONDS));
    return result;
  }
}
