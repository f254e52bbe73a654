import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { SqlParams } from '../common/sql-params';
import { eventJsonSql } from '../events/events.repository';
import { compileEventSelection } from '../query/query-compiler';
import type { EventSelection } from '../query/query.types';
import { Export, ExportStatus } from './entities/export.entity';

/** What an export reads: one collection of one project, a selection, and optionally a row high-water mark. */
export interface ExportScope {
  projectId: string;
  collection: string;
  selection: EventSelection;
  /** Only rows with `events.id <= maxEventRowId`; null = no bound. */
  maxEventRowId: number | null;
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
    compileEventSelection(scope.selection, params, 'e'),
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
    const [row] = await this.dataSource.query(
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

  /** Event count and exact NDJSON size (bytes, one '\n' per event) of a scope. */
  sizeStatement(scope: ExportScope): SqlStatement {
    const params = new SqlParams();
    const where = scopeWhere(scope, params);
    return {
      text: `SELECT count(*) AS events, coalesce(sum(octet_length(${eventJsonSql('e')}) + 1), 0) AS bytes
               FROM events e WHERE ${where}`,
      values: params.values,
    };
  }

  /** The exported JSON text of each matching event, one column, in (timestamp, id) order, at most `limit` rows. */
  linesStatement(scope: ExportScope, limit?: number): SqlStatement {
    const params = new SqlParams();
    const where = scopeWhere(scope, params);
    const limitClause = limit === undefined ? '' : ` LIMIT ${params.add(limit)}`;
    return {
      text: `SELECT ${eventJsonSql('e')} AS line FROM events e WHERE ${where} ORDER BY e."timestamp", e.id${limitClause}`,
      values: params.values,
    };
  }

  async create(record: Partial<Export>): Promise<Export> {
    await this.exports.insert(record as QueryDeepPartialEntity<Export>);
    return this.exports.findOneByOrFail({ id: record.id });
  }

  /** The export, if it belongs to this project and collection. */
  findOne(projectId: string, collection: string, id: string): Promise<Export | null> {
    return this.exports.findOneBy({ id, projectId, collection });
  }

  findById(id: string): Promise<Export | null> {
    return this.exports.findOneBy({ id });
  }

  /**
   * Marks an unfinished export Running (again, after a worker died) and returns it with its
   * encrypted credentials; null when it is unknown or already finished.
   */
  async start(id: string): Promise<{ record: Export; credentials: string | null } | null> {
    // For UPDATE … RETURNING, TypeORM's postgres driver answers [rows, affected row count].
    const [rows]: [Array<{ s3_credentials_encrypted: string | null }>, number] = await this.dataSource.query(
      `UPDATE exports SET status = 'Running', started_at = coalesce(started_at, now()), attempts = attempts + 1
        WHERE id = $1 AND status IN ('Pending', 'Running')
        RETURNING s3_credentials_encrypted`,
      [id],
    );
    if (rows.length === 0) {
      return null;
    }
    return { record: await this.exports.findOneByOrFail({ id }), credentials: rows[0].s3_credentials_encrypted };
  }

  async setTotalBytes(id: string, totalBytes: number): Promise<void> {
    await this.dataSource.query(`UPDATE exports SET total_bytes = $2 WHERE id = $1 AND status = 'Running'`, [id, totalBytes]);
  }

  /** Records progress; neither value ever goes backwards, also across a restarted attempt. */
  async reportProgress(id: string, transferredBytes: number, percentDone: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE exports
          SET transferred_bytes = GREATEST(transferred_bytes, LEAST($2::bigint, total_bytes)),
              percent_done = GREATEST(percent_done, $3::double precision)
        WHERE id = $1 AND status = 'Running'`,
      [id, transferredBytes, percentDone],
    );
  }

  /** Complete: transferred = total = the object's size, 100 %, credentials wiped. */
  async complete(id: string, objectBytes: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE exports SET status = 'Complete', finished_at = now(), error = NULL, percent_done = 100,
              transferred_bytes = $2, total_bytes = $2, s3_credentials_encrypted = NULL
        WHERE id = $1 AND status = 'Running'`,
      [id, objectBytes],
    );
  }

  /** Failed with a message for the client (no secrets), credentials wiped. */
  async fail(id: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE exports SET status = 'Failed', finished_at = now(), error = $2, s3_credentials_encrypted = NULL
        WHERE id = $1 AND status IN ('Pending', 'Running')`,
      [id, error],
    );
  }

  /** Ids of exports not yet Complete or Failed, oldest first. */
  async unfinishedIds(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM exports WHERE status IN ('Pending', 'Running') ORDER BY created_at`,
    );
    return rows.map((r) => r.id);
  }
}
