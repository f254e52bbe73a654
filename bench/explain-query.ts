/**
 * EXPLAIN of the aggregation SQL of `GET /events/:collection?query=` on a 1,000,000-event collection
 * (docs/query-language.md, "Queries": index use): which index serves a timeframe + equality-filter query.
 *
 *   npm run build && node dist/bench/explain-query.js [--events 1000000] [--keep]
 *
 * 1. Creates the scratch database `connect_explain` on the server of DATABASE_URL (never `connect` nor a
 *    test database) and applies the migrations, so the indexes are exactly the production ones.
 * 2. Generates the events with one `INSERT … SELECT … FROM generate_series`: N events in `purchases`,
 *    one every 30 s from 2015-01-01 (N = 1,000,000 spans about a year), and N/4 in `carts`, so the
 *    collection condition matters; then `ANALYZE events`.
 * 3. Compiles each query with the service's own parser and compiler (`parseAggregationQuery`,
 *    `intervalBoundaries`, `compileAggregation`), prints `EXPLAIN (ANALYZE, BUFFERS)` and whether
 *    `events_collection_timestamp_idx` serves it.
 * 4. Drops the database, unless `--keep` (then: `psql -d connect_explain`).
 */
import 'dotenv/config';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { loadSection } from '../src/config/configuration';
import { dataSourceOptions } from '../src/database/data-source-options';
import { compileAggregation } from '../src/query/aggregation-compiler';
import { parseAggregationQuery } from '../src/query/aggregation-query';
import { intervalBoundaries } from '../src/query/interval';
import { MAX_QUERY_RESULTS } from '../src/query/query.constants';
import { toLuxonZone } from '../src/query/timezone';

const DATABASE = 'connect_explain';
const PROJECT_ID = 'e'.repeat(24);
const INDEX = 'events_collection_timestamp_idx';

/** The queries explained: the first is the one docs/query-language.md quotes. */
const QUERIES: Array<{ title: string; doc: Record<string, unknown>; expectIndex: boolean }> = [
  {
    title: 'timeframe (one day) + equality filter',
    doc: {
      select: { purchases: 'count', revenue: { sum: 'price' } },
      filter: { 'product.category': 'Bikes' },
      timeframe: { start: '2015-06-01T00:00:00Z', end: '2015-06-02T00:00:00Z' },
    },
    expectIndex: true,
  },
  {
    title: 'timeframe (one week) + equality filter, grouped by country',
    doc: {
      select: { revenue: { sum: 'price' } },
      filter: { paid: true },
      groupBy: 'country',
      timeframe: { start: '2015-06-01T00:00:00Z', end: '2015-06-08T00:00:00Z' },
    },
    expectIndex: true,
  },
  {
    title: 'hourly interval over one DST day in America/New_York + equality filter, grouped',
    doc: {
      select: { revenue: { sum: 'price' } },
      filter: { 'product.category': 'Bikes' },
      groupBy: 'country',
      timeframe: { start: '2015-11-01T04:00:00Z', end: '2015-11-02T05:00:00Z' },
      interval: 'hourly',
      timezone: 'America/New_York',
    },
    expectIndex: true,
  },
  {
    title: 'no timeframe (the whole collection): a sequential scan is the right plan',
    doc: { select: { n: 'count' }, filter: { 'product.category': 'Bikes' } },
    expectIndex: false,
  },
];

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : (process.argv[index + 1] ?? '');
}

function databaseUrl(name: string): string {
  const url = new URL(loadSection('database').url);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin(run: (admin: Client) => Promise<void>): Promise<void> {
  const admin = new Client({ connectionString: databaseUrl('postgres') });
  await admin.connect();
  try {
    await run(admin);
  } finally {
    await admin.end();
  }
}

async function createDatabase(events: number): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  });
  const dataSource = await new DataSource(dataSourceOptions(databaseUrl(DATABASE))).initialize();
  await dataSource.runMigrations();
  await dataSource.destroy();

  const client = new Client({ connectionString: databaseUrl(DATABASE) });
  await client.connect();
  try {
    const started = Date.now();
    await client.query(`INSERT INTO projects (id, name, master_key_encrypted) VALUES ($1, 'explain', 'unused')`, [PROJECT_ID]);
    await client.query(
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
       SELECT $1, CASE WHEN i <= $2 THEN 'purchases' ELSE 'carts' END, to_jsonb(i),
              timestamptz '2015-01-01T00:00:00Z' + ((i - 1) % $2) * interval '30 seconds',
              jsonb_build_object(
                'price', (i % 100000) / 100.0,
                'paid', i % 3 <> 0,
                'country', (ARRAY['Australia', 'Italy', 'United States', 'Japan', 'Brazil'])[1 + i % 5],
                'product', jsonb_build_object('category', (ARRAY['Bikes', 'Books', 'Cars', 'Magazines', 'Laptops', 'Phones', 'Scooters', 'Toys'])[1 + i % 8]))
         FROM generate_series(1, $2 + $2 / 4) AS i`,
      [PROJECT_ID, events],
    );
    await client.query('ANALYZE events');
    console.log(
      `${events.toLocaleString('en-US')} events in purchases, ${(events / 4).toLocaleString('en-US')} in carts (${Date.now() - started} ms)`,
    );
  } finally {
    await client.end();
  }
}

async function explainQueries(): Promise<boolean> {
  const client = new Client({ connectionString: databaseUrl(DATABASE) });
  await client.connect();
  let asExpected = true;
  try {
    for (const { title, doc, expectIndex } of QUERIES) {
      const query = parseAggregationQuery(doc, new Date());
      const boundaries = query.interval
        ? intervalBoundaries(query.selection.timeframe, query.interval, toLuxonZone(query.selection.timezone), MAX_QUERY_RESULTS)
        : null;
      const bucketStarts = boundaries?.slice(0, -1).map((b) => b.epochMs) ?? null;
      const statement = compileAggregation(query, { projectId: PROJECT_ID, collection: 'purchases' }, bucketStarts, MAX_QUERY_RESULTS + 1);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, statement.values);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      const usesIndex = plan.includes(INDEX);
      asExpected &&= usesIndex === expectIndex;
      console.log(`\n=== ${title}\nquery: ${JSON.stringify(doc)}\n\n${statement.text}\n\n${plan}`);
      console.log(`\n${INDEX}: ${usesIndex ? 'used' : 'not used'} (${usesIndex === expectIndex ? 'as expected' : 'NOT AS EXPECTED'})`);
    }
  } finally {
    await client.end();
  }
  return asExpected;
}

async function main(): Promise<void> {
  const events = Number(option('events') ?? 1_000_000);
  if (!Number.isSafeInteger(events) || events < 1000) throw new Error('--events must be an integer of at least 1000');
  await createDatabase(events);
  try {
    const ok = await explainQueries();
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (option('keep') === undefined) {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`).then(() => undefined));
    } else {
      console.log(`\nkept the database: psql ${databaseUrl(DATABASE)}`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
