import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two more columns of `exports` (docs/exports.md): `queue_prefix`, the QUEUE_PREFIX of the
 * deployment that made the export (only its workers sweep it), and `completing_at`, when its
 * worker began completing the object (a cancel then answers 409). A migration of their own, since
 * databases already hold ExportsV2 without them; IF NOT EXISTS keeps it safe to run either way.
 */
export class ExportOwnership1764500000000 implements MigrationInterface {
  name = 'ExportOwnership1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE exports ADD COLUMN IF NOT EXISTS queue_prefix text, ADD COLUMN IF NOT EXISTS completing_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE exports DROP COLUMN queue_prefix, DROP COLUMN completing_at`);
  }
}
