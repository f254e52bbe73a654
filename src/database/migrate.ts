import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/**
 * Key of the PostgreSQL advisory lock that serialises migrations across every process sharing a
 * database (a fixed, arbitrary bigint; advisory locks are per database).
 */
export const MIGRATION_LOCK_KEY = '4233146951007163705';

/**
 * Applies pending migrations, each in its own transaction, while holding a session-level advisory
 * lock, so processes started at the same instant on an empty database (several `ROLE=api`
 * processes, workers) apply them one after the other instead of racing on `CREATE TABLE` (which
 * fails with `duplicate key value violates unique constraint "pg_type_typname_nsp_index"`). A
 * process that waited finds nothing left to apply. The lock is released when its connection
 * closes, also if the process dies.
 * @returns the names of the migrations this call applied, in order.
 * @throws the first migration error (its transaction is rolled back; the lock is released).
 */
export async function runMigrationsLocked(databaseUrl: string): Promise<string[]> {
  const dataSource = await new DataSource({ ...dataSourceOptions(databaseUrl), extra: { max: 2 } }).initialize();
  const lock = dataSource.createQueryRunner();
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lock.release();
    await dataSource.destroy();
  }
}
