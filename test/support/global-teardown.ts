import { Client } from 'pg';

/**
 * Jest global teardown: drops the test database global-setup made (its name is in DATABASE_URL)
 * and the scratch databases tests made beside it (named `<test database>_<suffix>`).
 */
export default async function globalTeardown(): Promise<void> {
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
