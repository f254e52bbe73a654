import { Controller, Get, Res } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { errorExamples } from '../common/dto/error-examples';
import { ErrorMessageDto } from '../common/dto/error-response.dto';
import { HealthService, Liveness } from './health.service';

const READY_EXAMPLE = {
  status: 'ok',
  info: { postgres: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up', applied: 5 } },
  error: {},
  details: { postgres: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up', applied: 5 } },
};

const NOT_READY_EXAMPLE = {
  status: 'error',
  info: { postgres: { status: 'up' }, migrations: { status: 'up', applied: 5 } },
  error: { redis: { status: 'down', message: 'Redis did not answer within 1000 ms.' } },
  details: {
    postgres: { status: 'up' },
    redis: { status: 'down', message: 'Redis did not answer within 1000 ms.' },
    migrations: { status: 'up', applied: 5 },
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
      'names every check under `details`, the failing ones under `error` (`migrations` lists the names not applied).',
  })
  @ApiOkResponse({ description: 'Every check passed.', schema: { example: READY_EXAMPLE } })
  @ApiServiceUnavailableResponse({ description: 'At least one check failed; `error` names it.', schema: { example: NOT_READY_EXAMPLE } })
  async ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    const { ready, result } = await this.health.readiness();
    if (!ready) response.status(503);
    return result;
  }
}
