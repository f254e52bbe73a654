import { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-database settings; first use: a canary that proves SECRETS_KEY is the key secrets were stored with. */
export class InstanceSettings1764480000000 implements MigrationInterface {
  name = 'InstanceSettings1764480000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE instance_settings (
        name        text        PRIMARY KEY,
        value       text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE instance_settings`);
  }
}
