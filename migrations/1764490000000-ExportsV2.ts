import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Resumable, verifiable S3 exports (docs/exports.md):
 * - `events.line_bytes`: the byte length of the event's exported NDJSON line (without its '\n'),
 *   computed by PostgreSQL from the same text `eventJsonSql` renders, so an export's size is a sum
 *   over the read index instead of a pass that renders every line; the read index includes it.
 * - `exports`: compression, the multipart upload being written, the part size it was started
 *   with, and the size before compression.
 * - `export_parts`: one row per part S3 acknowledged: the checkpoint a resumed export continues from.
 */
export class ExportsV21764490000000 implements MigrationInterface {
  name = 'ExportsV21764490000000';

  async up(q: QueryRunner): Promise<void> {
    // '{"id": ' (7) + id + ', "timestamp": "' (16) + 24 + '"' (1) + either '}' (1) or ', ' (2) + the
    // properties' text without its '{' (length - 1): 49 + id, plus the properties' length when not {}.
    await q.query(`
      ALTER TABLE events ADD COLUMN line_bytes integer GENERATED ALWAYS AS (
        49 + octet_length(event_id::text)
           + CASE WHEN properties = '{}'::jsonb THEN 0 ELSE octet_length(properties::text) END
      ) STORED`);
    await q.query(`DROP INDEX events_collection_timestamp_idx`);
    await q.query(`CREATE INDEX events_collection_timestamp_idx ON events (project_id, collection, "timestamp", id) INCLUDE (line_bytes)`);
    await q.query(`
      ALTER TABLE exports
        ADD COLUMN compression      text    NOT NULL DEFAULT 'none' CHECK (compression IN ('none', 'gzip')),
        ADD COLUMN upload_id        text,
        ADD COLUMN part_size_bytes  integer,
        ADD COLUMN raw_total_bytes  bigint`);
    await q.query(`CREATE INDEX exports_open_upload_idx ON exports (finished_at) WHERE upload_id IS NOT NULL`);
    await q.query(`CREATE INDEX exports_project_status_idx ON exports (project_id, status, created_at)`);
    await q.query(`
      CREATE TABLE export_parts (
        export_id             char(24) NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
        upload_id             text     NOT NULL,
        part_number           integer  NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
        start_after_event_id  jsonb,
        end_event_id          jsonb    NOT NULL,
        events                integer  NOT NULL,
        raw_bytes             bigint   NOT NULL,
        bytes                 bigint   NOT NULL,
        md5                   text     NOT NULL,
        etag                  text     NOT NULL,
        is_last               boolean  NOT NULL,
        PRIMARY KEY (export_id, part_number)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE export_parts`);
    await q.query(`DROP INDEX exports_project_status_idx`);
    await q.query(`DROP INDEX exports_open_upload_idx`);
    await q.query(
      `ALTER TABLE exports DROP COLUMN compression, DROP COLUMN upload_id, DROP COLUMN part_size_bytes, DROP COLUMN raw_total_bytes`,
    );
    await q.query(`DROP INDEX events_collection_timestamp_idx`);
    await q.query(`ALTER TABLE events DROP COLUMN line_bytes`);
    await q.query(`CREATE INDEX events_collection_timestamp_idx ON events (project_id, collection, "timestamp", id)`);
  }
}
