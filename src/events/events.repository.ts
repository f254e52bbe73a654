import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { stringifyJson } from '../common/json-text';
import { ValidEvent } from './event-validation';

/** One event to store, with its collection. */
export interface EventRow {
  collection: string;
  event: ValidEvent;
}

/**
 * SQL expression rendering an events row (alias `alias`) as the exported JSON text:
 * `{"id": …, "timestamp": "2015-07-28T00:00:30.295Z", …properties}` (Connect docs, "Exporting events"), spaced
 * like PostgreSQL's jsonb output throughout. Built in PostgreSQL so exports stream text without
 * parsing events in Node.
 */
export function eventJsonSql(alias: string): string {
  return `'{"id": ' || ${alias}.event_id::text || ', "timestamp": "'
    || to_char(${alias}."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"'
    || CASE WHEN ${alias}.properties = '{}'::jsonb THEN '}' ELSE ', ' || substr(${alias}.properties::text, 2) END`;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Writes and deletes events. Reads go through the query compiler (query/) and the exports module. */
@Injectable()
export class EventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores events in one statement. A repeated id within (project, collection) is stored once,
   * also when both copies are in `rows` or arrive concurrently (unique index + ON CONFLICT).
   * Resolves once the rows are committed, or, given `manager`, once they are written in its
   * transaction (an import commits them together with its position).
   * @returns how many events were stored (the others' ids were already stored, or repeated in `rows`).
   */
  async insert(projectId: string, rows: EventRow[], manager?: EntityManager): Promise<number> {
    if (rows.length === 0) {
      return 0;
    }
    // One jsonb document rather than parallel text[]/jsonb[] arrays: PostgreSQL parses it once into
    // binary jsonb and each field is then a copy; no array-literal escaping in Node (bench/README.md:
    // B1 went from 0.28 to about 0.45 of COPY's events/s).
    // Rows go in sorted by (collection, id): every batch takes its row locks in that one global
    // order, so concurrent batches with the same ids wait for each other instead of deadlocking.
    const keyed = rows.map((r) => ({ row: r, id: JSON.stringify(r.event.eventId) }));
    keyed.sort((a, b) => compare(a.row.collection, b.row.collection) || compare(a.id, b.id));
    // Events holding ExactNumbers (numbers a double would not reproduce) are written by lossless-json,
    // digit for digit; the rest, nearly always all of them, by JSON.stringify.
    const exact = rows.some((r) => r.event.hasExactNumbers);
    const document = stringifyJson(
      keyed.map(({ row }) => ({ c: row.collection, i: row.event.eventId, t: row.event.timestamp.toISOString(), p: row.event.properties })),
      exact,
    );
    const [{ stored }]: Array<{ stored: number }> = await (manager ?? this.dataSource).query(
      `WITH stored AS (
         INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
         SELECT $1, u.c, u.i, u.t, u.p
           FROM jsonb_to_recordset($2::jsonb) AS u(c text, i jsonb, t timestamptz, p jsonb)
         ON CONFLICT (project_id, collection, event_id) DO NOTHING
         RETURNING 1)
       SELECT count(*)::int AS stored FROM stored`,
      [projectId, document],
    );
    return stored;
  }

  /**
   * Deletes every event of one collection of a project (Connect docs, "Deleting a collection"), in one statement.
   * @returns how many events were deleted (0: the collection has no events, i.e. does not exist).
   */
  async deleteCollection(projectId: string, collection: string): Promise<number> {
    const [row]: Array<{ deleted: string }> = await this.dataSource.query(
      `WITH deleted AS (DELETE FROM events WHERE project_id = $1 AND collection = $2 RETURNING 1)
       SELECT count(*) AS deleted FROM deleted`,
      [projectId, collection],
    );
    return Number(row.deleted);
  }
}
