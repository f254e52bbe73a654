import { auth, startTestApp, TestApp } from './support/test-app';
import type { CreatedProject } from '../src/projects/projects.service';

describe('small export GET /events/:collection/export (Connect docs, "Exporting events")', () => {
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    t = await startTestApp();
    project = await t.createProject();
  });
  afterAll(() => t.close());

  const exportQuery = (collection: string, query?: unknown) => {
    const req = t.http.get(`/events/${collection}/export`).set(auth(project, 'query'));
    return query === undefined ? req : req.query({ query: typeof query === 'string' ? query : JSON.stringify(query) });
  };
  const pushBatch = async (body: Record<string, unknown[]>) => {
    const res = await t.http.post('/events').set(auth(project, 'push')).send(body);
    expect(res.status).toBe(200);
    expect(
      Object.values(res.body as Record<string, Array<{ success: boolean }>>)
        .flat()
        .every((r) => r.success),
    ).toBe(true);
  };

  it('answers test vector 15: filter + today, events as pushed plus id and timestamp, in (timestamp, id) order', async () => {
    const today = new Date();
    today.setUTCHours(0, 0, 30, 295);
    const later = new Date(today.getTime() + 22_254);
    await pushBatch({
      vector15: [
        { id: '28c86f2e-4ad8-423a-85ea-b09a5ab9549d', timestamp: later.toISOString(), name: 'test', product: 'apple' },
        { id: '9eb91561-1964-468a-b6bf-c16034b6757c', timestamp: today.toISOString(), name: 'test', product: 'apple' },
        { id: 'pear-today', timestamp: today.toISOString(), name: 'test', product: 'pear' },
        { id: 'apple-last-year', timestamp: '2015-07-28T00:00:30.295Z', name: 'test', product: 'apple' },
      ],
    });
    const res = await exportQuery('vector15', { filter: { product: 'apple' }, timeframe: 'today' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      results: [
        { id: '9eb91561-1964-468a-b6bf-c16034b6757c', timestamp: today.toISOString(), name: 'test', product: 'apple' },
        { id: '28c86f2e-4ad8-423a-85ea-b09a5ab9549d', timestamp: later.toISOString(), name: 'test', product: 'apple' },
      ],
    });
  });

  it('breaks timestamp ties by arrival order', async () => {
    const timestamp = '2016-01-01T00:00:00.000Z';
    for (const id of ['z', 'a', 'm']) {
      expect((await t.http.post('/events/ties').set(auth(project, 'push')).send({ id, timestamp })).status).toBe(200);
    }
    expect((await exportQuery('ties')).body.results.map((e: { id: string }) => e.id)).toEqual(['z', 'a', 'm']);
  });

  it('filters with operators on nested paths, numbers as numbers, through relaxed JSON', async () => {
    await pushBatch({
      shop: [
        { id: 1, timestamp: '2015-02-01T00:00:00Z', price: 5, product: { category: 'Bikes' } },
        { id: 2, timestamp: '2015-02-02T00:00:00Z', price: 10, product: { category: 'Books' } },
        { id: 3, timestamp: '2015-02-03T00:00:00Z', price: '7', product: { category: 'Bikes' } },
        { id: 4, timestamp: '2015-02-25T00:00:00Z', price: 7, product: { category: 'Cars' } },
      ],
    });
    const ids = async (query: unknown) => {
      const res = await exportQuery('shop', query);
      expect(res.status).toBe(200);
      return res.body.results.map((e: { id: number }) => e.id);
    };
    expect(await ids({ filter: { price: { gt: 5, lt: 10 } } })).toEqual([4]);
    expect(await ids({ filter: { 'product.category': { in: ['Bikes', 'Books'] } } })).toEqual([1, 2, 3]);
    expect(await ids({ filter: { 'product.category': 'Bikes', price: { gte: 5 } } })).toEqual([1]);
    expect(await ids({ timeframe: { start: '2015-02-01T00:00:00.000Z', end: '2015-02-25T00:00:00.000Z' } })).toEqual([1, 2, 3]);
    expect(await ids("{filter:{'product.category':{startsWith:'B'}},timeframe:{end:'2015-02-02T00:00:00Z'}}")).toEqual([1]);
    expect(await ids({ filter: { price: { exists: true }, 'product.category': { neq: 'Bikes' } } })).toEqual([2, 4]);
    expect(await ids({ timeframe: 'today', timezone: 'Australia/Brisbane' })).toEqual([]);
  });

  it('answers 413 when more than 10,000 events match, and 200 with exactly 10,000', async () => {
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, n: from + i }));
    await pushBatch({ many: batch(0, 5000) });
    await pushBatch({ many: batch(5000, 5000) });
    const ok = await exportQuery('many');
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(10_000);
    expect(ok.body.results[9999].id).toBe(9999);
    await pushBatch({ many: batch(10_000, 1) });
    const tooMany = await exportQuery('many');
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toEqual({
      errorMessage:
        'The query matched more than 10,000 events. Export them to Amazon S3 instead (POST /events/:collection/export, up to 1,000,000 events).',
    });
    expect((await exportQuery('many', { filter: { n: { lt: 100 } } })).body.results).toHaveLength(100);
  });

  it('answers an empty result for a collection without events', async () => {
    expect((await exportQuery('never-pushed')).body).toEqual({ results: [] });
  });

  it.each([
    ['malformed JSON', '{filter:', [{ field: 'query', description: 'The query JSON supplied is not valid.' }]],
    ['a JSON array', '[1]', [{ field: 'query', description: 'The query JSON supplied is not valid.' }]],
    ['select', { select: { n: 'count' } }, [{ field: 'select', description: expect.stringContaining('filter and timeframe') }]],
    ['groupBy', { groupBy: 'country' }, [{ field: 'groupBy', description: expect.stringContaining('filter and timeframe') }]],
    [
      'interval',
      { interval: 'daily', timeframe: 'today' },
      [{ field: 'interval', description: expect.stringContaining('filter and timeframe') }],
    ],
    [
      'an unknown operator',
      { filter: { price: { foo: 1 } } },
      [{ field: 'filter.price.foo', description: expect.stringContaining("Unknown filter operator 'foo'") }],
    ],
    ['a wrong operand type', { filter: { price: { gt: true } } }, [{ field: 'filter.price.gt', description: expect.any(String) }]],
    ['an unknown timezone', { timeframe: 'today', timezone: 'Japan/Tokyo' }, [{ field: 'timezone', description: expect.any(String) }]],
    [
      'a timezone with an absolute timeframe',
      { timeframe: { start: '2015-01-01T00:00:00Z' }, timezone: 10 },
      [{ field: 'timezone', description: expect.any(String) }],
    ],
    ['an unknown timeframe', { timeframe: 'last_century' }, [{ field: 'timeframe', description: expect.any(String) }]],
  ])('answers 422 for %s', async (_label, query, errors) => {
    const res = await exportQuery('shop', query);
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ errors });
  });

  it('answers 422 for a repeated query parameter instead of picking one (regression)', async () => {
    const res = await t.http
      .get('/events/shop/export?query=%7B%22filter%22%3A%7B%22price%22%3A5%7D%7D&query=%7B%22filter%22%3A%7B%22price%22%3A5%7D%7D')
      .set(auth(project, 'query'));
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ errors: [{ field: 'query', description: 'Give the query parameter once, as one JSON document.' }] });
  });

  it('ignores empty groupBy and filter values (the Swift SDK sends them)', async () => {
    const res = await exportQuery('shop', { filter: {}, groupBy: [] });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(4);
  });
});
