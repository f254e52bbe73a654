import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';
import { SqlParams } from '../common';
import { eventJsonSql } from '../events';
import { compileWhere } from '../query';
import type { EventSelection } from '../query';
import { Export, ExportStatus } from './entities/export.entity';

/** What an export reads: one collection of one project, a selection, and optionally a row high-water mark. */
export interface ExportScope {
  projectId: string;
  collection: string;
  selection: EventSelection;
  /** Only rows with `events.id <= maxEventRowId`; null = no bound. */
  maxEventRowId: number | null;
}

/** Filters and position of a page of `listPage` (GET /exports). */
export interface ExportListQuery {
  projectId: string;
  /** Only this collection (exact name); undefined = every collection. */
  collection?: string;
  /** Only this status; undefined = every status. */
  status?: ExportStatus;
  /** Rows to return (the page size). */
  limit: number;
  /** Only exports strictly after this one in (created_at DESC, id DESC) order; undefined = from the newest. */
  after?: ExportListPosition;
}

/** A position in the (created_at DESC, id DESC) order of exports: created_at to the microsecond, and the id. */
export interface ExportListPosition {
  /** `created_at` in UTC with microseconds, e.g. `2026-01-02T03:04:05.123456Z` (JavaScript dates keep only ms). */
  createdAt: string;
  id: string;
}

/** Lock namespace (first key of the two-key advisory lock) of the per-project export cap; the second key is a hash of the project id. */
const EXPORT_CAP_LOCK_NAMESPACE = 0x45585031; // 'EXP1'

/** A row of the export order (timestamp, row id), as PostgreSQL's own text of the timestamp. */
export interface ReadPosition {
  timestamp: string;
  rowId: string;
}

/** Which rows of a scope to read, in (timestamp, id) order: after `after` (exclusive), up to `until` (inclusive); null = open. */
export interface ReadRange {
  after: ReadPosition | null;
  until: ReadPosition | null;
}

/** A statement and its parameters. */
export interface SqlStatement {
  text: string;
  values: unknown[];
}

export function scopeWhere(scope: ExportScope, params: SqlParams): string {
  const conditions = [
    `e.project_id = ${params.add(scope.projectId)}`,
    `e.collection = ${params.add(scope.collection)}`,
    compileWhere(scope.selection, params, 'e'),
  ];
  if (scope.maxEventRowId !== null) {
    conditions.push(`e.id <= ${params.add(scope.maxEventRowId)}`);
  }
  return conditions.join(' AND ');
}

/** Export records and the SQL that reads the events they export. */
@Injectable()
export class ExportsRepository {
  private readonly exports: Repository<Export>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.exports = dataSource.getRepository(Export);
  }

  /**
   * Counts matching events, stopping at `limit + 1` (so a huge collection is never fully counted),
   * and reads the current event row high-water mark in the same snapshot.
   */
  async countMatching(scope: ExportScope, limit: number): Promise<{ count: number; maxEventRowId: number }> {
    const params = new SqlParams();
    const where = scopeWhere(scope, params);
    const [row]: Array<{ count: string; max_event_row_id: string }> = await this.dataSource.query(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM events e WHERE ${where} LIMIT ${params.add(limit + 1)}) m) AS count,
              (SELECT coalesce(max(id), 0) FROM events) AS max_event_row_id`,
      params.values,
    );
    return { count: Number(row.count), maxEventRowId: Number(row.max_event_row_id) };
  }

  /** Counting statement for a scope, to run inside an existing transaction. */
  countStatement(scope: ExportScope, limit: number): SqlStatement {
    const params = new SqlParams();
    const where = scopeWhere(scope, params);
    return {
      text: `SELECT count(*) AS count FROM (SELECT 1 FROM events e WHERE ${where} LIMIT ${params.add(limit + 1)}) m`,
      values: params.values,
    };
  }

  /**
   * Event count and exact NDJSON size (bytes, one '\n' per event) of a scope, from the stored line
   * lengths (`events.line_bytes`, in the read index): no line is rendered.
   */
  sizeStatement(scope: ExportScope): SqlStatement {
    const params = new SqlParams();
    const where = scopeWhere(scope, params);
    return {
      text: `SELECT count(*) AS events, coalesce(sum(e.line_bytes + 1), 0) AS bytes FROM events e WHERE ${where}`,
      values: params.values,
    };
  }

  /**
   * The exported JSON text of each matching event, one column, in (timestamp, id) order, at most
   * `limit` rows; with `range`, only rows after `range.after` and up to `range.until` (a resumed
   * S3 export's stretch; positions as PostgreSQL's text of the timestamp and the row id).
   */
  linesStatement(scope: ExportScope, limit?: number, range?: ReadRange): SqlStatement {
    const params = new SqlParams();
    const conditions = [scopeWhere(scope, params)];
    if (range?.after) {
      conditions.push(
        `(e."timestamp", e.id) > (${params.add(range.after.timestamp, 'timestamptz')}, ${params.add(range.after.rowId, 'bigint')})`,
      );
    }
    if (range?.until) {
      conditions.push(
        `(e."timestamp", e.id) <= (${params.add(range.until.timestamp, 'timestamptz')}, ${params.add(range.until.rowId, 'bigint')})`,
      );
    }
    const limitClause = limit === undefined ? '' : ` LIMIT ${params.add(limit)}`;
    return {
      text: `SELECT ${eventJsonSql('e')} AS line FROM events e WHERE ${conditions.join(' AND ')} ORDER BY e."timestamp", e.id${limitClause}`,
      values: params.values,
    };
  }

  /**
   * Unfinished (Pending or Running) exports of a project, counted up to `limit` (so never more than
   * `limit` rows are read; uses the (project_id, status, created_at) index).
   */
  async countUnfinished(projectId: string, limit: number): Promise<number> {
    const [row]: Array<{ count: number }> = await this.dataSource.query(
      `SELECT count(*)::int AS count
         FROM (SELECT 1 FROM exports WHERE project_id = $1 AND status IN ('Pending', 'Running') LIMIT $2) u`,
      [projectId, limit],
    );
    return row.count;
  }

  /**
   * Inserts the export unless its project already has `maxUnfinished` unfinished (Pending or Running)
   * exports, atomically: one transaction takes a transaction-scoped advisory lock on the project, counts,
   * then inserts, so concurrent creations of one project run one after the other and never exceed the cap.
   * @returns the stored export, or null when the cap is reached (nothing inserted).
   */
  async createWithinCap(record: Partial<Export> & { id: string; projectId: string }, maxUnfinished: number): Promise<Export | null> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [EXPORT_CAP_LOCK_NAMESPACE, record.projectId]);
      // READ COMMITTED: this statement's snapshot is taken after the lock, so it sees every insert committed by earlier holders.
      const [row]: Array<{ count: number }> = await manager.query(
        `SELECT count(*)::int AS count
           FROM (SELECT 1 FROM exports WHERE project_id = $1 AND status IN ('Pending', 'Running') LIMIT $2) u`,
        [record.projectId, maxUnfinished],
      );
      if (row.count >= maxUnfinished) {
        return null;
      }
      await manager.insert(Export, record);
      return manager.findOneByOrFail(Export, { id: record.id });
    });
  }

  /**
   * Cancels an unfinished export of this project and collection in one UPDATE guarded by
   * `status IN ('Pending', 'Running')`: Failed with `error`, finished now. The credentials are wiped
   * only when no multipart upload exists (`upload_id IS NULL`); otherwise whoever aborts the upload needs them.
   * @returns the cancelled export; `'finished'` when it exists but is already Complete or Failed; null when there is no such export.
   */
  async cancel(projectId: string, collection: string, id: string, error: string): Promise<Export | 'finished' | 'completing' | null> {
    // For UPDATE … RETURNING, TypeORM's postgres driver answers [rows, affected row count].
    const [rows]: [Array<{ id: string }>, number] = await this.dataSource.query(
      `UPDATE exports
          SET status = 'Failed', error = $4, finished_at = now(),
              s3_credentials_encrypted = CASE WHEN upload_id IS NULL THEN NULL ELSE s3_credentials_encrypted END
        WHERE id = $1 AND project_id = $2 AND collection = $3 AND status IN ('Pending', 'Running') AND completing_at IS NULL
        RETURNING id`,
      [id, projectId, collection, error],
    );
    const record = await this.findOne(projectId, collection, id);
    if (!record) {
      return null;
    }
    if (rows.length === 0) return record.status === ExportStatus.Running ? 'completing' : 'finished';
    return record;
  }

  /**
   * One page of a project's exports, newest first: (created_at DESC, id DESC), keyset-paginated from
   * `after`. Each row comes with its position (created_at to the microsecond), from which the next
   * page starts.
   */
  async listPage(query: ExportListQuery): Promise<Array<{ record: Export; position: ExportListPosition }>> {
    const params = new SqlParams();
    const conditions = [`project_id = ${params.add(query.projectId)}`];
    if (query.collection !== undefined) {
      conditions.push(`collection = ${params.add(query.collection)}`);
    }
    if (query.status !== undefined) {
      conditions.push(`status = ${params.add(query.status)}`);
    }
    if (query.after !== undefined) {
      conditions.push(`(created_at, id) < (${params.add(query.after.createdAt)}::timestamptz, ${params.add(query.after.id)}::char(24))`);
    }
    const page: Array<{ id: string; created_at_us: string }> = await this.dataSource.query(
      `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_us
         FROM exports WHERE ${conditions.join(' AND ')}
        ORDER BY created_at DESC, id DESC
        LIMIT ${params.add(query.limit)}`,
      params.values,
    );
    if (page.length === 0) {
      return [];
    }
    const records = new Map((await this.exports.findBy({ id: In(page.map((r) => r.id)) })).map((r) => [r.id, r]));
    // A row deleted in between (its project was deleted) is left out.
    return page
      .filter((r) => records.has(r.id))
      .map((r) => ({ record: records.get(r.id)!, position: { createdAt: r.created_at_us, id: r.id } }));
  }

  /** The export, if it belongs to this project and collection. */
  findOne(projectId: string, collection: string, id: string): Promise<Export | null> {
    return this.exports.findOneBy({ id, projectId, collection });
  }

  /** Ids of exports not yet Complete or Failed, of the deployment with this QUEUE_PREFIX, oldest first. */
  async unfinishedIds(queuePrefix: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM exports WHERE status IN ('Pending', 'Running') AND (queue_prefix = $1 OR queue_prefix IS NULL) ORDER BY created_at`,
      [queuePrefix],
    );
    return rows.map((r) => r.id);
  }
}
