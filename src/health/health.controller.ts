import { InjectQueue } from '@nestjs/bull';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { errorExamples } from '../common/dto/error-examples';
import { ErrorMessageDto } from '../common/dto/error-response.dto';
import { DEPENDENCY_RETRY_AFTER_SECONDS, withTimeout } from '../common/dependency-errors';
import { ServiceUnavailableError } from '../common/errors';
import { EXPORT_QUEUE } from '../exports/exports.constants';

const PING_TIMEOUT_MS = 2000;

/** A dependency answering a ping within PING_TIMEOUT_MS. */
function answers(ping: Promise<unknown>): Promise<boolean> {
  return withTimeout(ping, PING_TIMEOUT_MS, () => new Error('timeout')).then(
    () => true,
    () => false,
  );
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(EXPORT_QUEUE) private readonly queue: Queue,
  ) {}

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
  async check(): Promise<{ status: 'ok'; postgres: 'up'; redis: 'up' }> {
    const [postgres, redis] = await Promise.all([answers(this.dataSource.query('SELECT 1')), answers(this.queue.client.ping())]);
    if (!postgres || !redis) {
      const down = [!postgres && 'PostgreSQL', !redis && 'Redis'].filter(Boolean).join(' and ');
      throw new ServiceUnavailableError(`Unhealthy: ${down} not answering.`, DEPENDENCY_RETRY_AFTER_SECONDS);
    }
    return { status: 'ok', postgres: 'up', redis: 'up' };
  }
}
