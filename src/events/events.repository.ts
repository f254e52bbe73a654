import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ValidEvent } from './event-validation';

/** One event to store, with its collection. */
export interface EventRow {
  collection: string;
  event: ValidEvent;
}

/**
 * SQL expression rendering an events row (alias `alias`) as the exported JSON text:
 * `{"id": …, "timestamp": "2015-07-28T00:00:30.295Z", …properties}` (exporting-events.md), spaced
 * like PostgreSQL's jsonb output throughout. Built in PostgreSQL so exports stream text without
 * parsing events in Node.
 */
export function eventJsonSql(alias: string): string {
  return `'{"id": ' || ${alias}.event_id::text || ', "timestamp": "'
    || to_char(${alias}."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"'
    || CASE WHEN ${alias}.properties = '{}'::jsonb THEN '}' ELSE ', ' || substr(${alias}.properties::text, 2) END`;
}

/** Writes and deletes events. Reads go through the query compiler (query/) and the exports module. */
@Injectable()
export class EventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores events in one statement. A repeated id within (project, collection) is stored once,
   * also when both copies are in `rows` or arrive concurrently (unique index + ON CONFLICT).
   * Rows go in in unique-key order, so concurrent batches with the same ids wait on one another
   * instead of deadlocking. Resolves once the rows are committed.
   */
  async insert(projectId: string, rows: EventRow[]): Promise<void> {
    if (rows.length === 0) {
      return;
    }
    // One JSON document rather than parallel text[]/jsonb[] arrays: PostgreSQL parses it in one
    // pass, without array-literal escaping (measured about a third faster for 5,000 events).
    const document = JSON.stringify(
      rows.map((r) => ({ c: r.collection, i: r.event.eventId, t: r.event.timestamp.toISOString(), p: r.event.properties })),
    );
    await this.dataSource.query(
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
       SELECT $1, u.c, u.i, u.t, u.p
         FROM json_to_recordset($2::json) AS u(c text, i jsonb, t timestamptz, p jsonb)
        ORDER BY u.c, u.i
       ON CONFLICT (project_id, collection, event_id) DO NOTHING`,
      [projectId, document],
    );
  }

  /**
   * Deletes every event of one collection of a project (connect-api.md §6), in one statement.
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
