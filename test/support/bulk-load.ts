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

/**
 * Stores `count` order events in `collection` straight through SQL (ids 1..count, one second apart
 * from 2026-01-01 UTC, ~300 bytes each: n, product {name, price}, customer {city, vip}, note), for
 * tests about workers rather than pushes.
 */
export function loadOrders(databaseUrl: string, projectId: string, count: number, collection = 'orders'): Promise<void> {
  return bulkLoad(
    databaseUrl,
    `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
       SELECT $1, $3, to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second',
              jsonb_build_object('n', n, 'product', jsonb_build_object('name', 'Product ' || (n % 97), 'price', n % 1000 + 0.99),
                                 'customer', jsonb_build_object('city', 'City ' || (n % 13), 'vip', n % 7 = 0),
                                 'note', repeat('x', 120))
         FROM generate_series(1, $2::int) AS n`,
    [projectId, count, collection],
  );
}
