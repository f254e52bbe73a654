import { Client } from 'pg';

/** Jest global teardown: drops the test database global-setup made (its name is in DATABASE_URL). */
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
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
