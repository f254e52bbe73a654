import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Readable } from 'node:stream';
import { escapeLiteral, type PoolClient, type QueryConfig } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
// pg's own conversion of a parameter value to its text (arrays to array literals, Dates to ISO text).
import { prepareValue } from 'pg/lib/utils';
import { DataSource } from 'typeorm';
import { databaseConfig, DatabaseConfig } from '../config';
import { QUERY_ANSWER_MARGIN_MS } from '../common';
import { ExportReadPool } from './export-read-pool';
import { ExportScope, ExportsRepository, ReadPosition, ReadRange, SqlStatement } from './exports.repository';

export type { ReadPosition, ReadRange } from './exports.repository';

/** The longest delay a Node timer takes (about 24.8 days): a read timeout that never ends an export. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The statement with its values written in as literals (pg's own conversion and quoting): COPY
 * takes no bind parameters. The values are the compiler's, each quoted by `escapeLiteral`, so the
 * statement means what the parameterised one means (an untyped literal is typed from its context
 * exactly like a parameter).
 */
export function inlineStatement({ text, values }: SqlStatement): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = prepareValue(values[Number(n) - 1]);
    return value === null ? 'NULL' : escapeLiteral(String(value));
  });
}

/** The parts of pg's protocol for submitted queries that `reportsItsEnd` takes part in. */
interface SubmittedQuery {
  callback?: (error?: Error) => void;
  handleReadyForQuery: (this: unknown, ...args: unknown[]) => void;
  handleError: (this: unknown, ...args: unknown[]) => void;
}

/**
 * A `COPY … TO STDOUT` stream that tells pg when it has ended, as pg's own queries (and
 * pg-copy-streams' `COPY FROM`) do. pg arms a `query_timeout` timer for every query and clears it
 * only when the query calls `callback`; pg-copy-streams' `COPY TO` never does, so each COPY left
 * its timer (EXPORT_STATEMENT_TIMEOUT_MS + 2 s, ten minutes by default) armed after it ended:
 * it kept the process alive that long after shutdown, and then fired `handleError` into the
 * long-finished stream. Here `callback` is called once PostgreSQL has ended the COPY
 * (ReadyForQuery) or it failed (an error, the connection lost or destroyed); until then the timer
 * still bounds the whole COPY.
 */
function reportsItsEnd<T extends Readable>(copy: T): T {
  const query = copy as unknown as SubmittedQuery;
  // Defined before pg sees the query, so pg wraps it with the code that clears its timer.
  query.callback = () => undefined;
  const { handleReadyForQuery, handleError } = query;
  query.handleReadyForQuery = function (...args) {
    query.callback?.();
    handleReadyForQuery.apply(this, args);
  };
  query.handleError = function (...args) {
    query.callback?.();
    handleError.apply(this, args);
  };
  return copy;
}

/**
 * One REPEATABLE READ READ ONLY snapshot on a connection of its own: the only place exports read
 * events. S3 exports measure a scope, find a resume position and stream NDJSON with
 * `COPY … TO STDOUT`; small exports read rows through a cursor and count.
 */
export class EventReadSession {
  private done = false;
  private cursor: QueryStream | null = null;

  constructor(
    private readonly client: PoolClient,
    private readonly statements: ExportsRepository,
    private readonly release: (error?: Error) => void,
    private readonly readTimeoutMs: number,
  ) {}

  /** Starts the snapshot; with `statementTimeoutMs`, its statements run under that `statement_timeout` (0 = none). */
  async begin(statementTimeoutMs?: number): Promise<void> {
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (statementTimeoutMs !== undefined) await this.setStatementTimeout(statementTimeoutMs);
  }

  /** `statement_timeout` for the rest of the snapshot, ms (0 = none). */
  async setStatementTimeout(ms: number): Promise<void> {
    await this.client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(ms)]);
  }

  /** Events and exact NDJSON bytes (each line and its '\n') of a scope (ExportsRepository.sizeStatement). */
  async measure(scope: ExportScope): Promise<{ events: number; bytes: number }> {
    const { text, values } = this.statements.sizeStatement(scope);
    const { rows } = await this.client.query<{ events: string; bytes: string }>({
      text,
      values,
      query_timeout: this.readTimeoutMs,
    } as QueryConfig);
    return { events: Number(rows[0].events), bytes: Number(rows[0].bytes) };
  }

  /** Matching events, counted up to `limit + 1`. */
  async countUpTo(scope: ExportScope, limit: number): Promise<number> {
    const { text, values } = this.statements.countStatement(scope, limit);
    const { rows } = await this.client.query<{ count: string }>(text, values);
    return Number(rows[0].count);
  }

  /** The position of the event whose `id` has this JSON text, in the scope's collection; null if it is gone. */
  async positionOf(scope: ExportScope, eventIdJson: string): Promise<ReadPosition | null> {
    const { rows } = await this.client.query<{ timestamp: string; row_id: string }>(
      `SELECT e."timestamp"::text AS timestamp, e.id::text AS row_id FROM events e
        WHERE e.project_id = $1 AND e.collection = $2 AND e.event_id = $3::jsonb`,
      [scope.projectId, scope.collection, eventIdJson],
    );
    return rows[0] ? { timestamp: rows[0].timestamp, rowId: rows[0].row_id } : null;
  }

  /**
   * The scope's lines in `range` as one NDJSON byte stream (`COPY (SELECT line …) TO STDOUT`), in
   * (timestamp, id) order. CSV with delimiter and quote characters that JSON text never holds raw
   * (U+0001, U+0002: jsonb escapes control characters) writes each line exactly as rendered, one per
   * row, ended by '\n'.
   */
  copyLines(scope: ExportScope, range: ReadRange): Readable {
    const select = inlineStatement(this.statements.linesStatement(scope, undefined, range));
    const copy = copyTo(`COPY (${select}) TO STDOUT (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`);
    // pg times a submitted query from start to end with the pool's query_timeout (sized for API
    // statements): the whole COPY gets the worker's own read timeout instead.
    return this.client.query(Object.assign(reportsItsEnd(copy), { query_timeout: this.readTimeoutMs }));
  }

  /** The scope's lines (at most `limit`), `batchRows` per round trip, through a cursor; one cursor at a time. */
  lines(scope: ExportScope, limit: number, batchRows: number): AsyncIterator<[string], undefined> {
    const { text, values } = this.statements.linesStatement(scope, limit);
    this.cursor = this.client.query(new QueryStream(text, values, { batchSize: batchRows, rowMode: 'array' }));
    return (this.cursor as AsyncIterable<[string], undefined>)[Symbol.asyncIterator]();
  }

  /** Closes the cursor of `lines`, once PostgreSQL has closed its portal. */
  closeLines(): Promise<void> {
    const cursor = this.cursor;
    this.cursor = null;
    if (!cursor || cursor.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      cursor.once('close', () => resolve());
      cursor.destroy();
    });
  }

  /** Ends the snapshot and gives the connection back (discarded if the ROLLBACK fails). */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.cursor?.destroy();
    try {
      await this.client.query('ROLLBACK');
      this.release();
    } catch (error) {
      this.release(error as Error);
    }
  }

  /**
   * Drops the connection at once (a stalled or cancelled export): a COPY whose server went silent
   * would otherwise never end. The pool opens a new connection for the next reader.
   */
  destroy(): void {
    if (this.done) return;
    this.done = true;
    (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    this.release(new Error('export read abandoned'));
  }
}

/** Opens read sessions: S3 exports on the process's PostgreSQL pool, small exports on ExportReadPool. */
@Injectable()
export class EventReader {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly statements: ExportsRepository,
    private readonly readPool: ExportReadPool,
    @Inject(databaseConfig.KEY) private readonly databaseConfig: DatabaseConfig,
  ) {}

  /** A session for an S3 export, in a new snapshot; its reads wait as long as EXPORT_STATEMENT_TIMEOUT_MS allows. */
  async openForS3Export(): Promise<EventReadSession> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const timeout = this.databaseConfig.exportStatementTimeoutMs;
    // The pool's client-side query_timeout (data-source-options.ts) is sized for API statements.
    const readTimeout = timeout ? timeout + QUERY_ANSWER_MARGIN_MS : MAX_TIMER_MS;
    // TypeORM's runner releases its pg client once; with an error, pg-pool discards the connection.
    const release = (runner as unknown as { releasePostgresConnection(error?: Error): Promise<void> }).releasePostgresConnection.bind(
      runner,
    );
    const session = new EventReadSession(client, this.statements, (error) => void release(error), readTimeout);
    try {
      await session.begin(timeout);
    } catch (error) {
      session.destroy();
      throw error;
    }
    return session;
  }

  /**
   * A session for one of `projectId`'s small exports, on a streaming connection (ExportReadPool),
   * under the API's statement timeout.
   * @throws ServiceUnavailableError (503) when the project or the pool has no streaming connection free.
   */
  async openForSmallExport(projectId: string): Promise<EventReadSession> {
    const lease = await this.readPool.connect(projectId);
    const session = new EventReadSession(lease.client, this.statements, (error) => lease.release(error), MAX_TIMER_MS);
    try {
      await session.begin();
    } catch (error) {
      session.destroy();
      throw error;
    }
    return session;
  }
}
