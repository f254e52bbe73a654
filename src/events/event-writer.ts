import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { stringifyJson } from '../common';
import { ValidEvent } from './event-validation';

/** One event to store, with its collection. */
export interface EventRow {
  collection: string;
  event: ValidEvent;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Events as the one jsonb document `EventWriter.insertDocument` stores: `[{"c": collection,
 * "i": id, "t": ISO timestamp, "p": properties}, …]`. One jsonb document rather than parallel
 * text[]/jsonb[] arrays: PostgreSQL parses it once into binary jsonb and each field is then a copy;
 * no array-literal escaping in Node (bench/README.md: B1 went from 0.28 to about 0.45 of COPY's
 * events/s). Rows are sorted by (collection, id): every batch takes its row locks in that one
 * global order, so concurrent batches with the same ids wait for each other instead of deadlocking.
 * Events holding ExactNumbers (numbers a double would not reproduce) are written by lossless-json,
 * digit for digit; the rest, nearly always all of them, by JSON.stringify.
 */
export function eventsDocument(rows: EventRow[]): string {
  return documentOf(rows.map(documentEntry));
}

/** One event's element of an insert document, already rendered, with its sort key. */
export interface DocumentEntry {
  collection: string;
  /** The id's JSON text (the sort key within a collection). */
  id: string;
  /** `{"c": …, "i": …, "t": …, "p": …}` */
  json: string;
}

/**
 * Renders one event's element of the document at once, so that a caller reading events one by one
 * (an import) keeps only this text and the parsed event dies young (bench/README.md, B5: the import
 * worker's peak RSS).
 */
export function documentEntry(row: EventRow): DocumentEntry {
  const { collection, event } = row;
  return {
    collection,
    id: JSON.stringify(event.eventId),
    json: stringifyJson({ c: collection, i: event.eventId, t: event.timestamp.toISOString(), p: event.properties }, event.hasExactNumbers),
  };
}

/** The document of these entries (sorted in place by collection and id, see eventsDocument). */
export function documentOf(entries: DocumentEntry[]): string {
  entries.sort((a, b) => compare(a.collection, b.collection) || compare(a.id, b.id));
  return `[${entries.map((e) => e.json).join(',')}]`;
}

/** Writes and deletes events. Reads go through the query module and the exports module (which renders rows with eventJsonSql). */
@Injectable()
export class EventWriter {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores events in one statement. A repeated id within (project, collection) is stored once,
   * also when both copies are in `rows` or arrive concurrently (unique index + ON CONFLICT).
   * Resolves once the rows are committed, or, given `manager`, once they are written in its
   * transaction (an import commits them together with its position).
   * @returns how many events were stored (the others' ids were already stored, or repeated in `rows`).
   */
  async insert(projectId: string, rows: EventRow[], manager?: EntityManager): Promise<number> {
    return rows.length === 0 ? 0 : this.insertDocument(projectId, eventsDocument(rows), manager);
  }

  /**
   * `insert` of rows already rendered by `eventsDocument` (an import renders a batch while the
   * previous one commits, and then keeps only the text, not the parsed events).
   * @returns how many events were stored.
   */
  async insertDocument(projectId: string, document: string, manager?: EntityManager): Promise<number> {
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
