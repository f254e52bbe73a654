import { createHash } from 'node:crypto';
import { recreateDatabase } from '../../scripts/lib/databases';
import { loadSection } from '../../src/config/configuration';
import { runMigrationsLocked } from '../../src/database/migrate';

/**
 * Jest global setup: a fresh test database with every migration applied, handed to the test
 * workers through DATABASE_URL; and TEST_REDIS_PREFIX, which every Redis key prefix of the run
 * starts with (testKeyPrefix: each test app gets a Bull queue and rate-limit prefix of its own), so
 * that global-teardown deletes what the run left in the shared Redis.
 */
export default async function globalSetup(): Promise<void> {
  // Same server and credentials as the app's DATABASE_URL, but a database of the tests' own, one
  // per checkout, so two checkouts on one machine can run their tests at once.
  const checkout = createHash('sha256').update(process.cwd()).digest('hex').slice(0, 8);
  process.env.DATABASE_URL = await recreateDatabase(
    loadSection('database').url,
    process.env.TEST_DATABASE_NAME ?? `connect_test_${checkout}`,
  );
  await runMigrationsLocked(process.env.DATABASE_URL);
  process.env.TEST_DATABASE_READY = '1'; // testDatabaseUrl() (test-database.ts)
  process.env.TEST_REDIS_PREFIX = `test-${checkout}-${Date.now().toString(36)}`;
}
