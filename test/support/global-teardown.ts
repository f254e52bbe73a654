import Redis from 'ioredis';
import { Client } from 'pg';

/**
 * Deletes the keys this run left in the shared Redis (REDIS_URL): those under TEST_REDIS_PREFIX
 * (queues, rate-limit counters), never another's; Redis is never flushed.
 * @returns how many keys were deleted.
 */
async function deleteRunKeys(): Promise<number> {
  const prefix = process.env.TEST_REDIS_PREFIX;
  if (!prefix?.startsWith('test-')) return 0;
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
  let deleted = 0;
  try {
    await redis.connect();
    // `*` and `?` in a prefix would match other keys: the prefix is test-<hex>-<base36>, but escape anyway.
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const stream = redis.scanStream({ match: pattern, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    }
  } catch (error) {
    console.warn(`global-teardown: could not delete the keys under ${prefix} from Redis: ${(error as Error).message}`);
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/**
 * Jest global teardown: deletes the run's Redis keys (deleteRunKeys), drops the test database
 * global-setup made (its name is in DATABASE_URL) and the scratch databases tests made beside it
 * (named `<test database>_<suffix>`).
 */
export default async function globalTeardown(): Promise<void> {
  await deleteRunKeys();
  const url = new URL(process.env.DATABASE_URL!);
  const database = decodeURIComponent(url.pathname.slice(1));
  if (!database.startsWith('connect_test_')) {
    return; // never drop anything but a test database
  }
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $1 || '_')`,
      [database],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname.replace(/"/g, '""')}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}
