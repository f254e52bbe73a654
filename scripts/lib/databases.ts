import { Client } from 'pg';

/**
 * Drops (forcing other sessions off) and creates `database` on the PostgreSQL server of
 * `serverUrl`, connecting to its `postgres` database with the same credentials. For the tests'
 * and the benchmark's own databases only.
 * @returns `serverUrl` pointing at the new database.
 */
export async function recreateDatabase(serverUrl: string, database: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) {
    throw new Error(`not a plain database name: ${database}`);
  }
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
