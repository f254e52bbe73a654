import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { DEPENDENCY_RETRY_AFTER_SECONDS, ServiceUnavailableError, withTimeout } from '../common';
import { EXPORT_QUEUE } from '../exports';

/** Longest wait for one dependency's answer to the liveness check (GET /health), ms. */
const LIVENESS_TIMEOUT_MS = 2000;
/**
 * Longest wait for each check of the readiness check (GET /health/ready), ms. They run at once, so
 * the answer comes within about this long: a probe with `timeoutSeconds: 2` always gets it.
 */
export const READINESS_TIMEOUT_MS = 1000;

class Timeout extends Error {}

/** The `message` of a failing readiness check: it did not answer in time, or answered with an error (refused, lost, …). */
export const NOT_READY_MESSAGES = {
  postgres: {
    timeout: `PostgreSQL did not answer within ${READINESS_TIMEOUT_MS} ms.`,
    error: 'PostgreSQL could not be reached.',
  },
  redis: {
    timeout: `Redis did not answer within ${READINESS_TIMEOUT_MS} ms.`,
    error: 'Redis could not be reached.',
  },
  migrations: {
    timeout: `The migrations table could not be read within ${READINESS_TIMEOUT_MS} ms.`,
    error: 'The migrations table could not be read.',
  },
} as const;

/** How `check` failed within READINESS_TIMEOUT_MS, or null when it succeeded. */
function failure(check: Promise<unknown>): Promise<'timeout' | 'error' | null> {
  return withTimeout(check, READINESS_TIMEOUT_MS, () => new Timeout()).then(
    () => null,
    (error: unknown) => (error instanceof Timeout ? 'timeout' : 'error'),
  );
}

/** Whether `ping` settles successfully within `ms`. */
function answers(ping: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(ping, ms, () => new Timeout()).then(
    () => true,
    () => false,
  );
}

/**
 * A PING of the queues' Redis client, failing at once while it is not connected: ioredis would
 * hold the PING in its offline queue until Redis is back (or it gives up, tens of seconds later),
 * one per probe, so that unauthenticated probes during an outage piled up in memory.
 */
function ping(queue: Queue): Promise<unknown> {
  return queue.client.status === 'ready' ? queue.client.ping() : Promise.reject(new Error('Redis is not connected.'));
}

/** The liveness answer (GET /health). */
export interface Liveness {
  status: 'ok';
  postgres: 'up';
  redis: 'up';
}

/** The readiness answer (GET /health/ready): terminus' `{status, info, error, details}`, and whether it is a 200. */
export interface Readiness {
  ready: boolean;
  result: HealthCheckResult;
}

/**
 * The health checks (docs/monitoring.md, "Health"), shared by the API's HealthController and the
 * worker's HEALTH_PORT listener. Both are cheap (one `SELECT 1`, one Redis PING, one read of the
 * `migrations` table), and their answers name what is down without any address or error detail, so
 * they can stay unauthenticated.
 */
@Injectable()
export class HealthService {
  private readonly logger = new Logger('Health');
  /** The last readiness answer, so that only its changes are logged (not every probe). */
  private wasReady: boolean | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(EXPORT_QUEUE) private readonly queue: Queue,
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
  ) {}

  /**
   * Liveness: PostgreSQL and Redis each answer a ping within 2 s.
   * @throws ServiceUnavailableError (503, Retry-After) naming what did not answer.
   */
  async liveness(): Promise<Liveness> {
    const [postgres, redis] = await Promise.all([
      answers(this.dataSource.query('SELECT 1'), LIVENESS_TIMEOUT_MS),
      answers(ping(this.queue), LIVENESS_TIMEOUT_MS),
    ]);
    if (!postgres || !redis) {
      const down = [!postgres && 'PostgreSQL', !redis && 'Redis'].filter(Boolean).join(' and ');
      throw new ServiceUnavailableError(`Unhealthy: ${down} not answering.`, DEPENDENCY_RETRY_AFTER_SECONDS);
    }
    return { status: 'ok', postgres: 'up', redis: 'up' };
  }

  /**
   * Readiness: PostgreSQL answers `SELECT 1`, Redis answers PING (each within 1 s), and every
   * migration this build knows is recorded in the `migrations` table. Never throws for a failing
   * check: the result says `"status": "error"` with the failing checks under `error` (callers answer
   * it 503 with Retry-After: DEPENDENCY_RETRY_AFTER_SECONDS). A change
   * from ready to not ready (and back) is logged once, as a warning, naming the failing checks.
   */
  async readiness(): Promise<Readiness> {
    let readiness: Readiness;
    try {
      const result = await this.health.check([() => this.checkPostgres(), () => this.checkRedis(), () => this.checkMigrations()]);
      readiness = { ready: true, result };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      readiness = { ready: false, result: error.getResponse() as HealthCheckResult };
    }
    if (readiness.ready !== this.wasReady) {
      if (!readiness.ready) {
        const failing = Object.entries(readiness.result.error ?? {}).map(
          ([name, detail]) => `${name}: ${String(detail?.message ?? 'down')}`,
        );
        this.logger.warn(`not ready (${failing.join('; ') || readiness.result.status})`);
      } else if (this.wasReady === false) {
        this.logger.log('ready again');
      }
      this.wasReady = readiness.ready;
    }
    return readiness;
  }

  private async checkPostgres(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('postgres');
    const problem = await failure(this.dataSource.query('SELECT 1'));
    return problem === null ? check.up() : check.down({ message: NOT_READY_MESSAGES.postgres[problem] });
  }

  private async checkRedis(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('redis');
    const problem = await failure(ping(this.queue));
    return problem === null ? check.up() : check.down({ message: NOT_READY_MESSAGES.redis[problem] });
  }

  /** Up when no migration of this build is missing from the `migrations` table; down lists those that are. */
  private async checkMigrations(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('migrations');
    let rows: Array<{ name: string }> = [];
    const problem = await failure(
      this.dataSource.query(`SELECT name FROM ${this.dataSource.driver.escape(this.migrationsTable())}`).then((r: typeof rows) => {
        rows = r;
      }),
    );
    if (problem !== null) return check.down({ message: NOT_READY_MESSAGES.migrations[problem] });
    const applied = new Set(rows.map((row) => row.name));
    // TypeORM names a migration by its `name`, else its class name (MigrationExecutor).
    const pending = this.dataSource.migrations.map((m) => m.name ?? m.constructor.name).filter((name) => !applied.has(name));
    return pending.length === 0 ? check.up() : check.down({ message: `${pending.length} migration(s) not applied.`, pending });
  }

  private migrationsTable(): string {
    return this.dataSource.options.migrationsTableName ?? 'migrations';
  }
}
