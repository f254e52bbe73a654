import type { CreatedProject } from '../src/projects/projects.service';
import { queryClient, QueryClient } from './support/query';
import { startTestApp, TestApp } from './support/test-app';

/** E5 without groupBy or interval: select, filters, numbers, errors (Connect docs, "Aggregations", "Filters", "Query errors", "examples"). */
describe('query: aggregations GET /events/:collection?query=', () => {
  let t: TestApp;
  let q: QueryClient;

  // Vector 6: 25 purchases whose prices total 5493.25 (average 219.73), from 5.49 to 589.20.
  const prices = [5.49, 589.2, 213, ...Array.from({ length: 22 }, () => 212.98)];

  beforeAll(async () => {
    t = await startTestApp();
    const project: CreatedProject = await t.createProject();
    q = queryClient(t, project);
    await q.push({
      purchases: prices.map((price, i) => ({
        id: `p${i}`,
        timestamp: `2015-02-${String(1 + (i % 24)).padStart(2, '0')}T12:00:00Z`,
        price,
      })),
      mixed: [
        { timestamp: '2015-02-01T00:00:00Z', price: 10, label: 'a', flag: true, nested: { n: 1.5 } },
        { timestamp: '2015-02-01T00:00:01Z', price: '20', label: 'b', flag: false, nested: { n: '2' } },
        { timestamp: '2015-02-01T00:00:02Z', price: 30, label: 'c', flag: true, nested: null },
        { timestamp: '2015-02-01T00:00:03Z', price: true, label: 'd' },
        { timestamp: '2015-02-01T00:00:04Z', price: null, label: 'e' },
        { timestamp: '2015-02-01T00:00:05Z', price: { amount: 99 }, label: 'f' },
        { timestamp: '2015-02-01T00:00:06Z', price: [1, 2], label: 'g' },
        { timestamp: '2015-02-01T00:00:07Z', label: 'h' },
      ],
      // eslint-disable-next-line no-loss-of-precision -- on purpose: 2^53 + 1 reaches the API as the double 2^53 (see the test below)
      exact: [{ x: 0.1 }, { x: 0.2 }, { x: 9007199254740993 }, { x: -9007199254740993 }, { x: 1e-7 }],
      flowers: [
        { product: '12 red roses', price: 34.95, category: 'Bikes', gender: 'f', size: 1, paid: true },
        { product: '12 red roses', price: 34.95, category: 'Books', size: 2, paid: false },
        { product: '1 daisy', price: 8.95, category: 'Magazines', gender: null, size: 3, paid: true },
        { product: '1 daisy', price: 5, category: 'Cars', gender: 'm', size: '1', paid: 'true' },
      ],
    });
  });
  afterAll(() => t.close());

  it('answers test vector 6 exactly, plus _count', async () => {
    const body = await q.ok('purchases', {
      select: {
        itemsSold: 'count',
        totalPrice: { sum: 'price' },
        averagePrice: { avg: 'price' },
        minPrice: { min: 'price' },
        maxPrice: { max: 'price' },
      },
    });
    expect(body).toEqual({
      metadata: { groups: [], interval: null, timezone: null },
      results: [{ itemsSold: 25, totalPrice: 5493.25, averagePrice: 219.73, minPrice: 5.49, maxPrice: 589.2, _count: 25 }],
    });
  });

  it("accepts the docs' relaxed JSON ({select:{totalPrice:{sum:'price'}}})", async () => {
    const body = await q.ok('purchases', "{select:{totalPrice:{sum:'price'}}}");
    expect(body.results).toEqual([{ totalPrice: 5493.25, _count: 25 }]);
  });

  it('returns every aggregate as a JSON number, never a string, with exact decimal sums', async () => {
    const res = await q.query('exact', {
      select: { n: 'count', total: { sum: 'x' }, mean: { avg: 'x' }, low: { min: 'x' }, high: { max: 'x' } },
    });
    expect(res.status).toBe(200);
    // 0.1 + 0.2 is 0.3 (numeric), not 0.30000000000000004 (double); ±9007199254740993 were stored as the doubles ±9007199254740992.
    expect(res.text).toBe(
      '{"metadata":{"groups":[],"interval":null,"timezone":null},' +
        '"results":[{"n":5,"total":0.3000001,"mean":0.06000002,"low":-9007199254740992,"high":9007199254740992,"_count":5}]}',
    );
  });

  it('aggregates only numbers: strings, booleans, null, objects and arrays are ignored, and a property without numbers gives null', async () => {
    const body = await q.ok('mixed', {
      select: {
        events: 'count',
        total: { sum: 'price' },
        mean: { avg: 'price' },
        low: { min: 'price' },
        high: { max: 'price' },
        labels: { sum: 'label' },
        flags: { max: 'flag' },
        nestedTotal: { sum: 'nested.n' },
        missing: { avg: 'nope.nothing' },
      },
    });
    expect(body.results).toEqual([
      { events: 8, total: 40, mean: 20, low: 10, high: 30, labels: null, flags: null, nestedTotal: 1.5, missing: null, _count: 8 },
    ]);
  });

  it('answers one row with _count 0 and null aggregates over no events (also an unknown collection)', async () => {
    const doc = { select: { n: 'count', total: { sum: 'price' }, low: { min: 'price' } } };
    const expected = { metadata: { groups: [], interval: null, timezone: null }, results: [{ n: 0, total: null, low: null, _count: 0 }] };
    expect(await q.ok('never-pushed', doc)).toEqual(expected);
    expect(await q.ok('purchases', { ...doc, filter: { price: { gt: 10_000 } } })).toEqual(expected);
  });

  describe('filters (vector 7)', () => {
    const total = async (filter: unknown) => (await q.ok('flowers', { select: { totalPrice: { sum: 'price' } }, filter })).results[0];

    it('treats a scalar as eq', async () => {
      expect(await total({ product: '12 red roses' })).toEqual({ totalPrice: 69.9, _count: 2 });
      expect(await total({ product: { eq: '12 red roses' } })).toEqual({ totalPrice: 69.9, _count: 2 });
    });

    it('exists true and false, missing and null alike', async () => {
      expect(await total({ gender: { exists: true } })).toEqual({ totalPrice: 39.95, _count: 2 });
      expect(await total({ gender: { exists: false } })).toEqual({ totalPrice: 43.9, _count: 2 });
    });

    it('in on strings, numbers and booleans, each matching values of its own type only', async () => {
      expect(await total({ category: { in: ['Bikes', 'Books', 'Magazines'] } })).toEqual({ totalPrice: 78.85, _count: 3 });
      expect(await total({ size: { in: [1, 3] } })).toEqual({ totalPrice: 43.9, _count: 2 });
      expect(await total({ paid: { in: [true] } })).toEqual({ totalPrice: 43.9, _count: 2 });
      expect(await total({ category: ['Cars', 'Bikes'] })).toEqual({ totalPrice: 39.95, _count: 2 });
    });

    it('ANDs operators on one property and across properties', async () => {
      expect(await total({ price: { gt: 5, lt: 10 } })).toEqual({ totalPrice: 8.95, _count: 1 });
      expect(await total({ price: { gte: 5 }, product: '1 daisy' })).toEqual({ totalPrice: 13.95, _count: 2 });
    });
  });

  it('keeps the case of aliases and property paths, and decodes + in the collection as a space (.NET vector)', async () => {
    await q.push({ 'my coll': [{ 'Url Encoding': 2 }, { 'url encoding': 40 }] });
    const res = await t.http
      .get(
        '/events/my+coll?query=%7B%22select%22%3A%7B%22Test%22%3A%7B%22sum%22%3A%22Url+Encoding%22%7D%2C%22MyProp%22%3A%22count%22%7D%7D',
      )
      .set(q.headers);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([{ Test: 2, MyProp: 2, _count: 2 }]);
  });

  it('ignores unknown top-level keys and accepts the empty filter and groupBy the Swift SDK sends', async () => {
    const body = await q.ok('purchases', { select: { n: 'count' }, filter: {}, groupBy: [], nonEmpty: false, custom1: { a: 1 } });
    expect(body).toEqual({ metadata: { groups: [], interval: null, timezone: null }, results: [{ n: 25, _count: 25 }] });
  });

  describe('422 (Connect docs, "Query errors")', () => {
    const SHAPE =
      'Each alias maps to "count" or to an object with exactly one of {"sum": "<property path>"}, {"avg": "<property path>"}, ' +
      '{"min": "<property path>"}, {"max": "<property path>"}.';
    const EMPTY =
      'The query needs a select with at least one aggregation, e.g. {"select": {"itemsSold": "count", "totalPrice": {"sum": "price"}}}.';

    it.each<[string, unknown, Array<{ field: string; description: string }>]>([
      ['malformed JSON', '{select:', [{ field: 'query', description: 'The query JSON supplied is not valid.' }]],
      ['a JSON array', '[{"select":{"n":"count"}}]', [{ field: 'query', description: 'The query JSON supplied is not valid.' }]],
      ['no query parameter', undefined, [{ field: 'select', description: EMPTY }]],
      ['the empty query {} (.NET)', {}, [{ field: 'select', description: EMPTY }]],
      ['an empty select', { select: {} }, [{ field: 'select', description: EMPTY }]],
      [
        'a select that is not an object',
        { select: 'count' },
        [{ field: 'select', description: `The select must be an object, not string. ${SHAPE}` }],
      ],
      [
        'an unknown aggregation string',
        { select: { n: 'sum' } },
        [{ field: 'select.n', description: `Unknown aggregation 'sum'. ${SHAPE}` }],
      ],
      [
        'two operations for one alias',
        { select: { p: { sum: 'price', avg: 'price' } } },
        [{ field: 'select.p', description: `Exactly one aggregation per alias is allowed, got 'sum', 'avg'. ${SHAPE}` }],
      ],
      [
        'an unknown operation',
        { select: { p: { median: 'price' } } },
        [{ field: 'select.p', description: "Unknown aggregation 'median'; expected one of count, sum, avg, min, max." }],
      ],
      [
        'count of a property',
        { select: { p: { count: 'price' } } },
        [{ field: 'select.p', description: 'Count takes no property: write "count", not {"count": ...}.' }],
      ],
      [
        'a property path that is not a string',
        { select: { p: { sum: 5 } } },
        [{ field: 'select.p', description: 'The property path must be a string, not 5.' }],
      ],
      [
        'an invalid property path',
        { select: { p: { sum: 'a..b' } } },
        [{ field: 'select.p', description: "The property path 'a..b' must be non-empty names separated by single dots." }],
      ],
      [
        'the event timestamp',
        { select: { p: { max: 'timestamp' } } },
        [{ field: 'select.p', description: 'The event timestamp cannot be aggregated; use "interval" to bucket events by time.' }],
      ],
      [
        'the reserved alias _count',
        { select: { _count: 'count' } },
        [{ field: 'select._count', description: 'The alias "_count" is reserved: every result row carries the event count under it.' }],
      ],
      [
        'more than 100 aliases',
        { select: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 'count'])) },
        [{ field: 'select', description: 'A select can have at most 100 aliases.' }],
      ],
      [
        'more than 20 groupBy properties',
        { select: { n: 'count' }, groupBy: Array.from({ length: 21 }, (_, i) => `p${i}`) },
        [{ field: 'groupBy', description: 'A query can group by at most 20 properties.' }],
      ],
      [
        'a timezone without interval or timeframe',
        { select: { n: 'count' }, timezone: 10 },
        [
          {
            field: 'timezone',
            description: expect.stringContaining('A timezone can only be used with an interval or a relative timeframe'),
          },
        ],
      ],
      [
        'a timezone with an absolute timeframe and no interval',
        {
          select: { n: 'count' },
          timeframe: { start: '2015-02-01T00:00:00Z', end: '2015-03-01T00:00:00Z' },
          timezone: 'Australia/Brisbane',
        },
        [{ field: 'timezone', description: expect.stringContaining('an absolute timeframe carries its own UTC offsets') }],
      ],
      [
        'several problems at once, each with its field',
        { select: { a: 'avg', b: { sum: 'id' } }, filter: { price: { foo: 1 } }, timeframe: 'last_century' },
        [
          { field: 'select.a', description: `Unknown aggregation 'avg'. ${SHAPE}` },
          { field: 'select.b', description: 'The event id cannot be queried.' },
          { field: 'filter.price.foo', description: expect.stringContaining("Unknown filter operator 'foo'") },
          { field: 'timeframe', description: expect.stringContaining("Unknown timeframe 'last_century'") },
        ],
      ],
    ])('answers 422 for %s', async (_label, doc, errors) => {
      const res = await q.query('purchases', doc);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ errors });
    });
  });

  it('answers 422 for a repeated query parameter rather than picking one', async () => {
    const doc = encodeURIComponent(JSON.stringify({ select: { n: 'count' } }));
    const res = await t.http.get(`/events/purchases?query=${doc}&query=${doc}`).set(q.headers);
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ errors: [{ field: 'query', description: 'Give the query parameter once, as one JSON document.' }] });
  });

  it('allows a timezone with a relative timeframe, and with an absolute one when an interval is given (vector 9)', async () => {
    expect((await q.query('purchases', { select: { n: 'count' }, timeframe: 'today', timezone: 10 })).status).toBe(200);
    expect((await q.query('purchases', { select: { n: 'count' }, timeframe: 'this_month', timezone: 'Australia/Brisbane' })).status).toBe(
      200,
    );
    const absolute = { start: '2015-02-01T00:00:00Z', end: '2015-02-02T00:00:00Z' };
    expect((await q.query('purchases', { select: { n: 'count' }, timeframe: absolute, interval: 'daily', timezone: 10 })).status).toBe(200);
  });
});
