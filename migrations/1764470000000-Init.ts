import { MigrationInterface, QueryRunner } from 'typeorm';

/** Projects, API keys (hashed), events (append-only, jsonb) and S3 exports. */
export class Init1764470000000 implements MigrationInterface {
  name = 'Init1764470000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projects (
        id                    char(24)    PRIMARY KEY,
        name                  text        NOT NULL,
        master_key_encrypted  text        NOT NULL,
        created_at            timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        key_hash    char(64)    PRIMARY KEY,
        project_id  char(24)    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        key_type    text        NOT NULL CHECK (key_type IN ('master', 'push_query', 'push', 'query')),
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX api_keys_project_id_idx ON api_keys (project_id)`);
    await q.query(`
      CREATE TABLE events (
        id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project_id   char(24)    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        collection   text        NOT NULL,
        event_id     jsonb       NOT NULL,
        "timestamp"  timestamptz NOT NULL,
        properties   jsonb       NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // De-duplication of caller-supplied ids within (project, collection), Connect docs, "Pushing events"
    await q.query(`CREATE UNIQUE INDEX events_event_id_key ON events (project_id, collection, event_id)`);
    // The read path of queries and exports: one collection, a timeframe, (timestamp, id) order.
    await q.query(`CREATE INDEX events_collection_timestamp_idx ON events (project_id, collection, "timestamp", id)`);
    await q.query(`
      CREATE TABLE exports (
        id                        char(24)         PRIMARY KEY,
        project_id                char(24)         NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        collection                text             NOT NULL,
        selection                 jsonb            NOT NULL,
        max_event_row_id          bigint           NOT NULL,
        event_count               bigint           NOT NULL,
        s3_endpoint               text,
        s3_region                 text             NOT NULL,
        s3_bucket                 text             NOT NULL,
        s3_key                    text             NOT NULL,
        s3_credentials_encrypted  text,
        status                    text             NOT NULL DEFAULT 'Pending'
                                  CHECK (status IN ('Pending', 'Running', 'Complete', 'Failed')),
        error                     text,
        percent_done              double precision NOT NULL DEFAULT 0,
        transferred_bytes         bigint           NOT NULL DEFAULT 0,
        total_bytes               bigint           NOT NULL DEFAULT 0,
        attempts                  integer          NOT NULL DEFAULT 0,
        created_at                timestamptz      NOT NULL DEFAULT now(),
        started_at                timestamptz,
        finished_at               timestamptz
      )`);
    await q.query(`CREATE INDEX exports_project_id_idx ON exports (project_id, created_at)`);
    await q.query(`CREATE INDEX exports_unfinished_idx ON exports (created_at) WHERE status IN ('Pending', 'Running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE exports`);
    await q.query(`DROP TABLE events`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE projects`);
  }
}
