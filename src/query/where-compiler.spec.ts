import { Client } from 'pg';
import { testDatabaseUrl } from '../../test/support/test-database';
import { SqlParams } from '../common';
import { parseFilter } from './filter';
import { compileWhere } from './where-compiler';
import { EventSelection, ResolvedTimeframe } from './query.types';

/**
 * Runs compiled selections on the real PostgreSQL (the tests' own database) against a TEMP table of crafted events, and checks
 * which event ids match. Filters go through parseFilter so each case reads like the API's JSON.
 */

const EVENTS: Array<[number, string, string]> = [
  [1, '{"price": 5, "product": {"category": "Bikes"}, "name": "50% off_sale", "paid": true, "qty": 1}', '2015-02-01T00:00:00.000Z'],
  [2, '{"price": "5", "product": {"category": "Books"}, "name": "500 items", "paid": false, "qty": "1"}', '2015-02-10T12:00:00.000Z'],
  [3, '{"price": 5.0, "product": {"category": "Magazines"}, "name": "5_off", "paid": "true"}', '2015-02-24T23:59:59.999Z'],
  [4, '{"price": 12.5, "product": {"category": null}, "name": "5X off"}', '2015-02-25T00:00:00.000Z'],
  [5, '{"price": null, "name": "Zebra"}', '2015-01-31T23:59:59.999Z'],
  [6, '{}', '2015-03-01T00:00:00.000Z'],
  [7, '{"price": "abc", "name": "apple", "tags": ["a", "b"], "product": "flat"}', '2015-02-15T00:00:00.000Z'],
  [8, '{"price": -3, "name": "Éclair", "a\'); drop table e; --": 1}', '2015-02-16T00:00:00.000Z'],
  [9, '{"we\\"ird\\\\{key},x": {"inner": 1}}', '2015-02-17T00:00:00.000Z'],
];
const ALL = EVENTS.map(([id]) => id);

let client: Client;

beforeAll(async () => {
  client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  await client.query('CREATE TEMP TABLE e (id bigserial, properties jsonb, timestamp timestamptz)');
  for (const [id, properties, timestamp] of EVENTS) {
    await client.query('INSERT INTO e (id, properties, timestamp) VALUES ($1, $2::jsonb, $3::timestamptz)', [id, properties, timestamp]);
  }
});

afterAll(async () => {
  await client?.end();
});

function selection(filter: unknown, timeframe: ResolvedTimeframe | null = null): EventSelection {
  return { filters: parseFilter(filter), timeframe, timezone: null };
}

async function matchingIds(sel: EventSelection): Promise<number[]> {
  const params = new SqlParams();
  const where = compileWhere(sel, params);
  const result = await client.query<{ id: number }>(`SELECT id::int AS id FROM e WHERE ${where} ORDER BY id`, params.values);
  return result.rows.map((row) => row.id);
}

const ids = (filter: unknown): Promise<number[]> => matchingIds(selection(filter));
const except = (...excluded: number[]): number[] => ALL.filter((id) => !excluded.includes(id));

describe('compileWhere on PostgreSQL', () => {
  it('the fixture stores 5.0 as a distinct jsonb text but an equal number', async () => {
    const { rows } = await client.query<{ price: string }>("SELECT properties->>'price' AS price FROM e WHERE id = 3");
    expect(rows[0].price).toBe('5.0');
  });

  it('matches everything with an empty selection (TRUE)', async () => {
    const params = new SqlParams();
    expect(compileWhere({ filters: [], timeframe: null, timezone: null }, params)).toBe('TRUE');
    expect(params.values).toEqual([]);
    expect(await ids({})).toEqual(ALL);
  });

  describe('eq', () => {
    it('compares numbers as numbers (5 = 5.0) and never a number with a numeric string', async () => {
      expect(await ids({ price: 5 })).toEqual([1, 3]);
      expect(await ids({ price: { eq: 5 } })).toEqual([1, 3]);
      expect(await ids({ price: '5' })).toEqual([2]);
      expect(await ids({ price: 12.5 })).toEqual([4]);
    });
    it('compares booleans as booleans, not the string "true"', async () => {
      expect(await ids({ paid: true })).toEqual([1]);
      expect(await ids({ paid: false })).toEqual([2]);
      expect(await ids({ paid: 'true' })).toEqual([3]);
    });
    it('follows nested paths (docs: product.category)', async () => {
      expect(await ids({ 'product.category': 'Bikes' })).toEqual([1]);
    });
    it('does not match array elements, but a numeric segment indexes arrays', async () => {
      expect(await ids({ tags: 'a' })).toEqual([]);
      expect(await ids({ 'tags.0': 'a' })).toEqual([7]);
      expect(await ids({ 'tags.1': 'b' })).toEqual([7]);
    });
    it('eq null matches missing and null alike', async () => {
      expect(await ids({ price: null })).toEqual([5, 6, 9]);
      expect(await ids({ 'product.category': { eq: null } })).toEqual([4, 5, 6, 7, 8, 9]);
    });
  });

  describe('neq', () => {
    it('matches events where the property is missing, like Mongo $ne', async () => {
      expect(await ids({ price: { neq: 5 } })).toEqual(except(1, 3));
      expect(await ids({ name: { neq: 'Zebra' } })).toEqual(except(5));
      expect(await ids({ price: { ne: '5' } })).toEqual(except(2));
    });
    it('neq null ≡ exists true (the demo app query)', async () => {
      expect(await ids({ price: { neq: null } })).toEqual([1, 2, 3, 4, 7, 8]);
    });
  });

  describe('exists', () => {
    it('true: present and not null', async () => {
      expect(await ids({ price: { exists: true } })).toEqual([1, 2, 3, 4, 7, 8]);
      expect(await ids({ 'product.category': { exists: true } })).toEqual([1, 2, 3]);
    });
    it('false: missing or null, including a path through a non-object', async () => {
      expect(await ids({ price: { exists: false } })).toEqual([5, 6, 9]);
      expect(await ids({ 'product.category': { exists: false } })).toEqual([4, 5, 6, 7, 8, 9]);
    });
  });

  describe('gt / gte / lt / lte', () => {
    it('a number matches numeric properties only, compared numerically, without cast errors on strings', async () => {
      expect(await ids({ price: { gt: 4 } })).toEqual([1, 3, 4]);
      expect(await ids({ price: { gte: 5 } })).toEqual([1, 3, 4]);
      expect(await ids({ price: { gt: 5 } })).toEqual([4]);
      expect(await ids({ price: { lt: 5 } })).toEqual([8]);
      expect(await ids({ price: { lte: 5 } })).toEqual([1, 3, 8]);
      expect(await ids({ price: { lte: 5.0000001 } })).toEqual([1, 3, 8]);
      expect(await ids({ price: { gt: 4, lt: 10 } })).toEqual([1, 3]);
    });
    it('a string matches string properties only, in byte order', async () => {
      expect(await ids({ price: { gt: '4' } })).toEqual([2, 7]);
      expect(await ids({ name: { gt: 'Zebra' } })).toEqual([7, 8]); // 'a' (0x61) and 'É' (0xC3) sort after 'Z' (0x5A)
      expect(await ids({ name: { gte: 'Zebra' } })).toEqual([5, 7, 8]);
      expect(await ids({ name: { lt: '5_' } })).toEqual([1, 2, 4]); // '0' and 'X' sort before '_'
    });
    it('forces the "C" collation in the SQL (the test database default is already C.UTF-8)', () => {
      const sql = compileWhere(selection({ name: { gt: 'Zebra' } }), new SqlParams());
      expect(sql).toContain('COLLATE "C" >');
    });
  });

  describe('in', () => {
    it('strings, numbers and booleans, typed like eq', async () => {
      expect(await ids({ 'product.category': { in: ['Bikes', 'Books', 'Magazines'] } })).toEqual([1, 2, 3]);
      expect(await ids({ 'product.category': ['Bikes', 'Books'] })).toEqual([1, 2]);
      expect(await ids({ price: { in: [5, 12.5] } })).toEqual([1, 3, 4]);
      expect(await ids({ price: { in: ['5', 'abc'] } })).toEqual([2, 7]);
      expect(await ids({ paid: { in: [true] } })).toEqual([1]);
      expect(await ids({ paid: { in: [false, true] } })).toEqual([1, 2]);
      expect(await ids({ qty: { in: [1] } })).toEqual([1]);
    });
    it('handles quotes and backslashes in string elements', async () => {
      expect(await ids({ name: { in: ['"', '\\', "'", 'Zebra'] } })).toEqual([5]);
    });
  });

  describe('startsWith / endsWith / contains', () => {
    it('treats % and _ literally (no LIKE)', async () => {
      expect(await ids({ name: { startsWith: '50%' } })).toEqual([1]);
      expect(await ids({ name: { startsWith: '5_' } })).toEqual([3]);
      expect(await ids({ name: { endsWith: '_sale' } })).toEqual([1]);
      expect(await ids({ name: { contains: '% off' } })).toEqual([1]);
      expect(await ids({ name: { contains: '_' } })).toEqual([1, 3]);
    });
    it('is case-sensitive', async () => {
      expect(await ids({ name: { contains: 'Z' } })).toEqual([5]);
      expect(await ids({ name: { contains: 'z' } })).toEqual([]);
      expect(await ids({ name: { startsWith: 'éc' } })).toEqual([]);
      expect(await ids({ name: { startsWith: 'Éc' } })).toEqual([8]);
    });
    it('counts characters, not bytes, for endsWith', async () => {
      expect(await ids({ name: { endsWith: 'off' } })).toEqual([3, 4]);
      expect(await ids({ name: { endsWith: 'clair' } })).toEqual([8]);
      expect(await ids({ name: { endsWith: 'Éclair' } })).toEqual([8]);
    });
    it('matches string properties only', async () => {
      expect(await ids({ price: { startsWith: '5' } })).toEqual([2]);
      expect(await ids({ tags: { contains: 'a' } })).toEqual([]);
      expect(await ids({ product: { contains: 'a' } })).toEqual([7]);
    });
    it('an empty operand matches every string value', async () => {
      expect(await ids({ name: { endsWith: '' } })).toEqual([1, 2, 3, 4, 5, 7, 8]);
    });
  });

  it('ANDs conditions on several properties', async () => {
    expect(await ids({ price: { gte: 5 }, 'product.category': { in: ['Bikes', 'Magazines', 'Books'] } })).toEqual([1, 3]);
  });

  describe('timeframe', () => {
    const start = new Date('2015-02-01T00:00:00.000Z');
    const end = new Date('2015-02-25T00:00:00.000Z');

    it('start is inclusive and end exclusive (docs vector 8)', async () => {
      expect(await matchingIds(selection({}, { start, end }))).toEqual([1, 2, 3, 7, 8, 9]);
    });
    it('supports open-ended ranges', async () => {
      expect(await matchingIds(selection({}, { start, end: null }))).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
      expect(await matchingIds(selection({}, { start: null, end }))).toEqual([1, 2, 3, 5, 7, 8, 9]);
    });
    it('combines with filters', async () => {
      expect(await matchingIds(selection({ price: 5 }, { start: new Date('2015-02-02T00:00:00Z'), end }))).toEqual([3]);
    });
  });

  describe('SQL injection', () => {
    const evilPath = "a'); drop table e; --";

    it('binds property paths as parameters: a path with SQL metacharacters is just a key', async () => {
      const params = new SqlParams();
      const sql = compileWhere(selection({ [evilPath]: 1, "x'; select pg_sleep(5); --.y": { exists: true } }), params);
      expect(sql).not.toContain('drop');
      expect(sql).not.toContain('pg_sleep');
      expect(params.values).toContainEqual([evilPath]);
      expect(await ids({ [evilPath]: 2 })).toEqual([]);
      expect(await ids({ [evilPath]: 1 })).toEqual([8]);
      expect(await ids({ "x'; select pg_sleep(5); --.y": { exists: true } })).toEqual([]);
      expect(await ids({ name: "'; drop table e; --" })).toEqual([]);
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM e');
      expect(rows[0].n).toBe(EVENTS.length);
    });

    it('passes quotes, backslashes, braces and commas in path segments through the text[] parameter intact', async () => {
      expect(await ids({ 'we"ird\\{key},x.inner': 1 })).toEqual([9]);
      expect(await ids({ 'we"ird\\{key},x': { exists: true } })).toEqual([9]);
    });

    it('rejects an alias that is not a plain identifier', () => {
      expect(() => compileWhere(selection({}), new SqlParams(), 'e; drop table e')).toThrow('Invalid SQL alias');
    });
  });

  it('keeps the timeframe sargable: the btree index on (project_id, collection, timestamp, id) bounds the scan', async () => {
    await client.query('CREATE TEMP TABLE ev (project_id int, collection text, id bigserial, properties jsonb, timestamp timestamptz)');
    await client.query('CREATE INDEX ev_scan ON ev (project_id, collection, timestamp, id)');
    const params = new SqlParams();
    const project = params.add(1, 'int');
    const collection = params.add('purchases', 'text');
    const where = compileWhere(
      selection({ price: { gt: 5 } }, { start: new Date('2015-02-01T00:00:00Z'), end: new Date('2015-02-25T00:00:00Z') }),
      params,
      'x',
    );
    await client.query('BEGIN');
    try {
      await client.query('SET LOCAL enable_seqscan = off');
      await client.query("SET LOCAL TimeZone = 'UTC'");
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT x.id FROM ev x WHERE x.project_id = ${project} AND x.collection = ${collection} AND ${where}`,
        params.values,
      );
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index (Only )?Scan using ev_scan/);
      const indexCond = plan.split('\n').find((line) => line.includes('Index Cond:')) ?? '';
      expect(indexCond).toContain(`"timestamp" >= '2015-02-01 00:00:00+00'`);
      expect(indexCond).toContain(`"timestamp" < '2015-02-25 00:00:00+00'`);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
