import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Readable } from 'node:stream';
import type { PoolClient, QueryConfig } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { escapeLiteral } from 'pg';
// pg's own conversion of a parameter value to its text (arrays to array literals, Dates to ISO text).
import { prepareValue } from 'pg/lib/utils';
import { DataSource } from 'typeorm';
import { SqlParams } from '../common/sql-params';
import { AppConfig } from '../config/app.config';
import { QUERY_ANSWER_MARGIN_MS } from '../database/data-source-options';
import { eventJsonSql } from '../events/events.repository';
import { ExportScope, scopeWhere, SqlStatement } from './exports.repository';

/** The longest delay a Node timer takes (about 24.8 days): a read timeout that never ends an export. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A row of the export order (timestamp, row id), as PostgreSQL's own text of the timestamp. */
export interface ReadPosition {
  timestamp: string;
  rowId: string;
}

/** Which rows of a scope to stream, in (timestamp, id) order: after `after` (exclusive), up to `until` (inclusive). */
export interface ReadRange {
  after: ReadPosition | null;
  until: ReadPosition | null;
}

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

/**
 * One REPEATABLE READ READ ONLY snapshot on a connection of its own, for the export worker:
 * measure a scope, find a resume position, stream NDJSON lines with `COPY … TO STDOUT`.
 */
export class EventReadSession {
  private destroyed = false;

  constructor(
    private readonly client: PoolClient,
    private readonly release: (error?: Error) => void,
    private readonly readTimeoutMs: number,
  ) {}

  /** Starts the snapshot; its statements run under `statement_timeout` = `statementTimeoutMs` (0 = none). */
  async begin(statementTimeoutMs: number): Promise<void> {
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The worker's connections come from the same pool settings as the API's (QUERY_STATEMENT_TIMEOUT_MS).
    await this.client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(statementTimeoutMs)]);
  }

  /**
   * Events and exact NDJSON bytes (each line and its '\n') of a scope, from the stored line lengths
   * (`events.line_bytes`, in the read index): no line is rendered.
   */
  async measure(scope: ExportScope): Promise<{ events: number; bytes: number }> {
    const params = new SqlParams();
    const where = scopeWhere(scope, params);
    const { rows } = await this.client.query<{ events: string; bytes: string }>({
      text: `SELECT count(*) AS events, coalesce(sum(e.line_bytes + 1), 0) AS bytes FROM events e WHERE ${where}`,
      values: params.values,
      query_timeout: this.readTimeoutMs,
    } as QueryConfig);
    return { events: Number(rows[0].events), bytes: Number(rows[0].bytes) };
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
    const params = new SqlParams();
    const conditions = [scopeWhere(scope, params)];
    if (range.after) {
      conditions.push(`(e."timestamp", e.id) > (${params.add(range.after.timestamp, 'timestamptz')}, ${params.add(range.after.rowId, 'bigint')})`);
    }
    if (range.until) {
      conditions.push(`(e."timestamp", e.id) <= (${params.add(range.until.timestamp, 'timestamptz')}, ${params.add(range.until.rowId, 'bigint')})`);
    }
    const select = inlineStatement({
      text: `SELECT ${eventJsonSql('e')} FROM events e WHERE ${conditions.join(' AND ')} ORDER BY e."timestamp", e.id`,
      values: params.values,
    });
    const copy = copyTo(`COPY (${select}) TO STDOUT (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`);
    // pg applies `query_timeout` to a COPY too, as a limit on the whole statement: without this, the
    // pool's (QUERY_STATEMENT_TIMEOUT_MS + margin, sized for API statements) fails any export whose
    // COPY runs longer than that ("Query read timeout"). Stalls are the attempt watch's job.
    return this.client.query(Object.assign(copy, { query_timeout: this.readTimeoutMs }));
  }

  /** Ends the snapshot and gives the connection back. */
  async close(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
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
    if (this.destroyed) return;
    this.destroyed = true;
    (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    this.release(new Error('export read abandoned'));
  }
}

/** Opens read sessions for S3 exports on the worker's PostgreSQL pool. */
@Injectable()
export class EventReader {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** A session in a new snapshot; its reads wait as long as EXPORT_STATEMENT_TIMEOUT_MS allows. */
  async open(): Promise<EventReadSession> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const timeout = this.config.exportStatementTimeoutMs;
    // The pool's client-side query_timeout (data-source-options.ts) is sized for API statements.
    const readTimeout = timeout ? timeout + QUERY_ANSWER_MARGIN_MS : MAX_TIMER_MS;
    // TypeORM's runner releases its pg client once; with an error, pg-pool discards the connection.
    const release = (runner as unknown as { releasePostgresConnection(error?: Error): Promise<void> }).releasePostgresConnection.bind(runner);
    const session = new EventReadSession(client, (error) => void release(error), readTimeout);
    try {
      await session.begin(timeout);
    } catch (error) {
      session.destroy();
      throw error;
    }
    return session;
  }
}
