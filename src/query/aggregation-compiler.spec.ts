import { Client } from 'pg';
import { testDatabaseUrl } from '../../test/support/test-database';
import { compileAggregation } from './aggregation-compiler';
import { parseAggregationQuery } from './aggregation-query';
import { intervalBoundaries } from './interval';
import { MAX_GROUP_BY_PROPERTIES, MAX_QUERY_RESULTS, MAX_SELECT_ALIASES, POSTGRES_MAX_BIND_PARAMETERS } from './query.constants';
import { MAX_CONFIGURABLE_FILTER_CONDITIONS } from '../config';
import { toLuxonZone } from './timezone';

/**
 * The SQL of each result shape, and what it computes on the real PostgreSQL (the tests' own database)
 * against a TEMP `events` table, which shadows the migrated `events` table in this session only.
 */

const now = new Date('2015-02-17T00:00:00Z');
const scope = { projectId: 'p'.repeat(24), collection: 'sales' };
const parse = (doc: Record<string, unknown>) => parseAggregationQuery(doc, now);

let client: Client;

beforeAll(async () => {
  client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  await client.query(`CREATE TEMP TABLE events (
    id bigserial, project_id char(24), collection text, "timestamp" timestamptz, properties jsonb)`);
  const rows: Array<[string, string, string, unknown]> = [
    [scope.projectId, 'sales', '2015-02-01T00:00:00Z', { country: 'Italy', price: 0.1, product: { category: 'Bikes' } }],
    [scope.projectId, 'sales', '2015-02-01T23:59:59.999Z', { country: 'Italy', price: 0.2 }],
    [scope.projectId, 'sales', '2015-02-02T00:00:00Z', { country: 'Australia', price: '7', product: { category: null } }],
    [scope.projectId, 'sales', '2015-02-03T12:00:00Z', { country: null, price: 12.5 }],
    [scope.projectId, 'sales', '2015-02-03T13:00:00Z', { price: true, "it's": { '"quoted"': 3 } }],
    [scope.projectId, 'other', '2015-02-01T00:00:00Z', { country: 'Italy', price: 1000 }],
    ['q'.repeat(24), 'sales', '2015-02-01T00:00:00Z', { country: 'Italy', price: 1000 }],
  ];
  for (const [project, collection, timestamp, properties] of rows) {
    await client.query('INSERT INTO events (project_id, collection, "timestamp", properties) VALUES ($1, $2, $3, $4)', [
      project,
      collection,
      timestamp,
      JSON.stringify(properties),
    ]);
  }
});

afterAll(async () => {
  await client?.end();
});

const run = async (doc: Record<string, unknown>, bucketStarts: string[] | null = null, limit = 10_001) => {
  const statement = compileAggregation(parse(doc), scope, bucketStarts?.map((iso) => Date.parse(iso)) ?? null, limit);
  return (await client.query(statement.text, statement.values)).rows;
};

describe('compileAggregation: SQL text', () => {
  it('plain: one aggregate row, no GROUP BY; each distinct path bound once as text[]', () => {
    const statement = compileAggregation(
      parse({ select: { n: 'count', total: { sum: 'price' }, mean: { avg: 'price' } } }),
      scope,
      null,
      10_001,
    );
    expect(statement.text).toBe(
      [
        'SELECT count(*) AS _count,',
        "       sum(CASE WHEN jsonb_typeof(e.properties #> $3::text[]) = 'number' THEN (e.properties #> $3::text[])::numeric END) AS a1,",
        "       avg(CASE WHEN jsonb_typeof(e.properties #> $3::text[]) = 'number' THEN (e.properties #> $3::text[])::numeric END) AS a2",
        '  FROM events e',
        ' WHERE e.project_id = $1 AND e.collection = $2 AND TRUE',
      ].join('\n'),
    );
    expect(statement.values).toEqual([scope.projectId, 'sales', ['price']]);
  });

  it('interval + groupBy: width_bucket over the bucket starts, groups NULLIF-ed, grouped, ordered and limited', () => {
    const doc = {
      select: { n: 'count' },
      groupBy: 'product.category',
      filter: { country: 'Italy' },
      interval: 'daily',
      timeframe: { start: '2015-02-01T00:00:00Z', end: '2015-02-03T00:00:00Z' },
    };
    const statement = compileAggregation(
      parse(doc),
      scope,
      [Date.parse('2015-02-01T00:00:00Z'), Date.parse('2015-02-02T00:00:00Z')],
      10_001,
    );
    expect(statement.text).toBe(
      [
        'SELECT width_bucket(e."timestamp", $3::timestamptz[]) AS bucket,',
        "       NULLIF(e.properties #> $4::text[], 'null'::jsonb)::text AS g0,",
        '       count(*) AS _count',
        '  FROM events e',
        ' WHERE e.project_id = $1 AND e.collection = $2 AND e.timestamp >= $5::timestamptz AND e.timestamp < $6::timestamptz' +
          ' AND (COALESCE((e.properties #> $7::text[]) = $8::jsonb, FALSE))',
        " GROUP BY 1, NULLIF(e.properties #> $4::text[], 'null'::jsonb)",
        " ORDER BY 1, NULLIF(e.properties #> $4::text[], 'null'::jsonb)",
        ' LIMIT $9',
      ].join('\n'),
    );
    expect(statement.values).toEqual([
      scope.projectId,
      'sales',
      ['2015-02-01T00:00:00.000Z', '2015-02-02T00:00:00.000Z'],
      ['product', 'category'],
      '2015-02-01T00:00:00.000Z',
      '2015-02-03T00:00:00.000Z',
      ['country'],
      '"Italy"',
      10_001,
    ]);
  });
});

describe('compileAggregation on PostgreSQL', () => {
  it('aggregates exactly over numeric, only JSON numbers, only the scope', async () => {
    expect(
      await run({ select: { total: { sum: 'price' }, mean: { avg: 'price' }, low: { min: 'price' }, high: { max: 'price' } } }),
    ).toEqual([{ _count: '5', a0: '12.8', a1: '4.2666666666666667', a2: '0.1', a3: '12.5' }]);
  });

  it('answers one row with count 0 and NULL aggregates over no events', async () => {
    expect(await run({ select: { total: { sum: 'price' } }, filter: { price: { gt: 1e6 } } })).toEqual([{ _count: '0', a0: null }]);
  });

  it('groups missing and JSON null together, last, and orders groups ascending', async () => {
    expect(await run({ select: { n: 'count' }, groupBy: ['country'] })).toEqual([
      { g0: '"Australia"', _count: '1' },
      { g0: '"Italy"', _count: '2' },
      { g0: null, _count: '2' },
    ]);
    expect(await run({ select: { n: 'count' }, groupBy: ['country', 'product.category'] })).toEqual([
      { g0: '"Australia"', g1: null, _count: '1' },
      { g0: '"Italy"', g1: '"Bikes"', _count: '1' },
      { g0: '"Italy"', g1: null, _count: '1' },
      { g0: null, g1: null, _count: '2' },
    ]);
  });

  it('binds paths with quotes and braces as text[] elements', async () => {
    expect(await run({ select: { x: { sum: 'it\'s."quoted"' } } })).toEqual([{ _count: '5', a0: '3' }]);
  });

  it('numbers buckets from 1 by their start, leaving empty buckets out', async () => {
    const doc = { select: { n: 'count' }, interval: 'daily', timeframe: { start: '2015-02-01T00:00:00Z', end: '2015-02-04T00:00:00Z' } };
    expect(await run(doc, ['2015-02-01T00:00:00Z', '2015-02-02T00:00:00Z', '2015-02-03T00:00:00Z'])).toEqual([
      { bucket: 1, _count: '2' },
      { bucket: 2, _count: '1' },
      { bucket: 3, _count: '2' },
    ]);
    expect(
      await run({ ...doc, filter: { country: 'Italy' } }, ['2015-02-01T00:00:00Z', '2015-02-01T12:00:00Z', '2015-02-02T00:00:00Z']),
    ).toEqual([
      { bucket: 1, _count: '1' },
      { bucket: 2, _count: '1' },
    ]);
  });

  it('stops at the row limit', async () => {
    expect(await run({ select: { n: 'count' }, groupBy: 'country' }, null, 2)).toHaveLength(2);
  });
});

describe('compileAggregation: bind parameters with every cap at its maximum', () => {
  it("stays far below PostgreSQL's 32,767 and runs: 10,000 conditions, in lists of 100,000 values, 100 aliases, 20 groups, 10,000 buckets", async () => {
    // The highest values the configuration accepts (src/config/limits.config.ts), not the defaults.
    const limits = { maxFilterConditions: MAX_CONFIGURABLE_FILTER_CONDITIONS, maxInValues: 100_000, maxDocumentChars: 256 * 1024 };
    const filter: Record<string, unknown> = {};
    // 1,000 paths × 10 operators (endsWith binds its operand once though it uses it twice) = 10,000.
    for (let i = 0; i < 1_000; i++) {
      filter[`p${i}`] = {
        neq: i,
        eq: 'x',
        gt: 1,
        lte: 'z',
        exists: true,
        in: i % 100 === 0 ? Array.from({ length: 100_000 }, (_, n) => n) : [1, 2],
        startsWith: 'a',
        endsWith: 'b',
        contains: 'c',
        gte: 0,
      };
    }
    const select = Object.fromEntries(Array.from({ length: MAX_SELECT_ALIASES }, (_, i) => [`a${i}`, { sum: `s${i}` }]));
    const groupBy = Array.from({ length: MAX_GROUP_BY_PROPERTIES }, (_, i) => `g${i}`);
    const doc = { select, groupBy, filter, interval: 'daily', timeframe: { start: '2000-01-01T00:00:00Z', end: '2027-05-19T00:00:00Z' } };
    const query = parseAggregationQuery(doc, now, limits);
    expect(query.selection.filters).toHaveLength(MAX_CONFIGURABLE_FILTER_CONDITIONS);
    const buckets = intervalBoundaries(query.selection.timeframe, 'daily', toLuxonZone(null), MAX_QUERY_RESULTS);
    expect(buckets.length - 1).toBe(MAX_QUERY_RESULTS);

    const statement = compileAggregation(
      query,
      scope,
      buckets.slice(0, -1).map((b) => b.epochMs),
      MAX_QUERY_RESULTS + 1,
    );
    // Two per condition (path and operand; an in list is one jsonb[]), plus at most 125 others.
    expect(statement.values.length).toBeLessThanOrEqual(2 * MAX_CONFIGURABLE_FILTER_CONDITIONS + 125);
    expect(statement.values.length).toBeLessThan(POSTGRES_MAX_BIND_PARAMETERS);
    expect((await client.query(statement.text, statement.values)).rows).toEqual([]);
  });
});
