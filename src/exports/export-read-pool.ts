import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { ServiceUnavailableError } from '../common/errors';
import { AppConfig } from '../config/app.config';

/** How long a small export waits for a streaming connection before answering 503, ms. */
const ACQUIRE_TIMEOUT_MS = 2000;

/**
 * The PostgreSQL connections small exports stream through, apart from the main pool. A streamed
 * response holds its connection until the client has read the last byte, so clients that read
 * slowly (or never) can only use up this pool — pushes, queries and health checks keep theirs.
 */
@Injectable()
export class ExportReadPool implements OnModuleDestroy {
  private readonly pool: Pool;

  constructor(config: AppConfig) {
    this.pool = new Pool({
      connectionString: config.databaseUrl,
      max: config.exportStreamConnections,
      connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS,
      // As the main pool (core.module.ts). A cursor's timeout covers each fetch, not the time a slow
      // reader takes between fetches (that is HTTP_IDLE_TIMEOUT_MS's job).
      statement_timeout: config.queryStatementTimeoutMs || undefined,
    });
    this.pool.on('error', () => undefined); // an idle client's connection dropped: the pool replaces it
  }

  /** @throws ServiceUnavailableError (503) when every streaming connection stays busy for 2 s. */
  async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      if (/timeout/i.test((error as Error).message)) {
        throw new ServiceUnavailableError('Too many exports are being streamed right now; try again in a moment.');
      }
      throw error;
    }
  }

  onModuleDestroy(): Promise<void> {
    return this.pool.end();
  }
}
