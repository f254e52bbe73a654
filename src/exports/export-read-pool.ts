import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { ServiceUnavailableError } from '../common';
import { databaseConfig, DatabaseConfig, ExportsConfig, exportsConfig } from '../config';
import { Metrics } from '../metrics';

/** How long a small export waits for a streaming connection before answering 503, ms. */
const ACQUIRE_TIMEOUT_MS = 2000;
/**
 * `Retry-After` of a 503 for a busy stream pool, seconds: a small export of 10,000 events takes well
 * under a second to a client reading at full speed, and a slow one is dropped after at most two
 * rate windows (EXPORT_STREAM_GRACE_MS), so a slot is usually free again within seconds.
 */
export const STREAM_BUSY_RETRY_AFTER_SECONDS = 2;

/** A streaming connection held for one small export; `release` gives it (and the project's slot) back, once. */
export interface StreamLease {
  client: PoolClient;
  /** Returns the connection to the pool; with an error, the connection is discarded instead. */
  release(error?: Error): void;
}

/**
 * The PostgreSQL connections small exports stream through, apart from the main pool. A streamed
 * response holds its connection until the client has read the last byte, so clients that read
 * slowly (or never) can only use up this pool — pushes, queries and health checks keep theirs.
 *
 * Within the pool, one project holds at most EXPORT_STREAM_CONNECTIONS_PER_PROJECT connections at
 * once, so one project's slow clients cannot lock every other project out. The count is kept in
 * this process: with several API processes, a project may hold that many in each.
 */
@Injectable()
export class ExportReadPool implements OnModuleDestroy {
  private readonly pool: Pool;
  /** Streams held (or being acquired) per project id, in this process. */
  private readonly held = new Map<string, number>();

  constructor(
    @Inject(databaseConfig.KEY) databaseConfig: DatabaseConfig,
    @Inject(exportsConfig.KEY) private readonly exportsConfig: ExportsConfig,
    metrics: Metrics,
  ) {
    this.pool = new Pool({
      connectionString: databaseConfig.url,
      max: exportsConfig.streamConnections,
      connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS,
      // As the main pool (core.module.ts). PostgreSQL times an open cursor as one statement, so a
      // stream that outlives the read-ahead raises it for itself (ExportsService.smallExport).
      statement_timeout: databaseConfig.queryStatementTimeoutMs || undefined,
    });
    this.pool.on('error', () => undefined); // an idle client's connection dropped: the pool replaces it
    metrics.addPool('export_stream', this.pool);
  }

  /**
   * A streaming connection for one of `projectId`'s small exports.
   * @throws ServiceUnavailableError (503, Retry-After 2 s) at once when the project already holds
   *         EXPORT_STREAM_CONNECTIONS_PER_PROJECT streams, or after 2 s when every connection stays busy;
   *         connection errors of PostgreSQL as they are (the error funnel answers 503 for them).
   */
  async connect(projectId: string): Promise<StreamLease> {
    const held = this.held.get(projectId) ?? 0;
    if (held >= this.exportsConfig.streamConnectionsPerProject) {
      throw new ServiceUnavailableError(
        `This project already streams ${held} exports, the most it may at once; try again when one has finished.`,
        STREAM_BUSY_RETRY_AFTER_SECONDS,
      );
    }
    this.held.set(projectId, held + 1);
    let returned = false;
    const giveBackSlot = () => {
      if (returned) return;
      returned = true;
      const left = (this.held.get(projectId) ?? 1) - 1;
      if (left > 0) this.held.set(projectId, left);
      else this.held.delete(projectId);
    };
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      giveBackSlot();
      if (/timeout/i.test((error as Error).message)) {
        throw new ServiceUnavailableError(
          'Too many exports are being streamed right now; try again in a moment.',
          STREAM_BUSY_RETRY_AFTER_SECONDS,
        );
      }
      throw error;
    }
    let released = false;
    return {
      client,
      release: (error?: Error) => {
        if (released) return;
        released = true;
        giveBackSlot();
        client.release(error);
      },
    };
  }

  onModuleDestroy(): Promise<void> {
    return this.pool.end();
  }
}
