import { Client } from 'pg';

/**
 * Runs one statement that loads test data, on a connection of its own: the app's pool bounds
 * every statement (QUERY_STATEMENT_TIMEOUT_MS, and a client-side read timeout after it), which
 * is right for API statements and wrong for inserting a million rows of fixtures.
 */
export async function bulkLoad(databaseUrl: string, sql: string, values: unknown[]): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}
