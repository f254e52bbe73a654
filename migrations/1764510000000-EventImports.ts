import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bulk imports from S3 (docs/imports.md): one row per import, holding its object, its sealed
 * credentials (until it ends) and its committed position. Each batch of lines is committed in one
 * transaction with `position_bytes`, `line_index` and the counts, so a resumed import continues
 * exactly after the last committed line.
 */
export class EventImports1764510000000 implements MigrationInterface {
  name = 'EventImports1764510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE event_imports (
        id                        char(24)    PRIMARY KEY,
        project_id                char(24)    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        collection                text        NOT NULL,
        s3_endpoint               text,
        s3_region                 text        NOT NULL,
        s3_bucket                 text        NOT NULL,
        s3_key                    text        NOT NULL,
        s3_credentials_encrypted  text,
        status                    text        NOT NULL DEFAULT 'Pending'
                                              CHECK (status IN ('Pending', 'Running', 'Complete', 'Failed')),
        error                     text,
        created_at                timestamptz NOT NULL DEFAULT now(),
        started_at                timestamptz,
        finished_at               timestamptz,
        attempts                  integer     NOT NULL DEFAULT 0,
        queue_prefix              text,
        object_bytes              bigint,
        object_etag               text,
        gzip                      boolean,
        position_bytes            bigint      NOT NULL DEFAULT 0,
        read_bytes                bigint      NOT NULL DEFAULT 0,
        line_index                bigint      NOT NULL DEFAULT 0,
        imported_events           bigint      NOT NULL DEFAULT 0,
        duplicate_events          bigint      NOT NULL DEFAULT 0,
        event_error_count         bigint      NOT NULL DEFAULT 0,
        event_errors              jsonb       NOT NULL DEFAULT '[]'
      )`);
    await q.query(`CREATE INDEX event_imports_project_idx ON event_imports (project_id, created_at)`);
    await q.query(`CREATE INDEX event_imports_unfinished_idx ON event_imports (created_at) WHERE status IN ('Pending', 'Running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE event_imports`);
  }
}
