import { InjectQueue } from '@nestjs/bull';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { ErrorMessageDto } from '../common/dto/error-response.dto';
import { DEPENDENCY_RETRY_AFTER_SECONDS } from '../common/dependency-errors';
import { ServiceUnavailableError } from '../common/errors';
import { EXPORT_QUEUE } from '../exports/exports.constants';

const PING_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(EXPORT_QUEUE) private readonly queue: Queue,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness of the service and its dependencies (PostgreSQL, Redis)' })
  @ApiOkResponse({ schema: { example: { status: 'ok', postgres: 'up', redis: 'up' } } })
  @ApiServiceUnavailableResponse({ type: ErrorMessageDto, description: 'PostgreSQL or Redis does not answer within 2 s.' })
  async check(): Promise<{ status: 'ok'; postgres: 'up'; redis: 'up' }> {
    const [postgres, redis] = await Promise.all([
      withTimeout(this.dataSource.query('SELECT 1')).then(() => true, () => false),
      withTimeout(this.queue.client.ping()).then(() => true, () => false),
    ]);
    if (!postgres || !redis) {
      const down = [!postgres && 'PostgreSQL', !redis && 'Redis'].filter(Boolean).join(' and ');
      throw new ServiceUnavailableError(`Unhealthy: ${down} not answering.`, DEPENDENCY_RETRY_AFTER_SECONDS);
    }
    return { status: 'ok', postgres: 'up', redis: 'up' };
  }
}
