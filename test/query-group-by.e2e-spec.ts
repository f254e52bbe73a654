import type { CreatedProject } from '../src/projects/projects.service';
import { queryClient, QueryClient } from './support/query';
import { startTestApp, TestApp } from './support/test-app';

/** E5 with groupBy (Connect docs, "Group by", "Query results", "Query errors", "examples"). */
describe('query: groupBy', () => {
  let t: TestApp;
  let q: QueryClient;

  // Vector 10: totals per country and per (country, product.category).
  const sales = [
    { country: 'Australia', product: { category: 'Bikes' }, price: 500000 },
    { country: 'Australia', product: { category: 'Cars' }, price: 500000 },
    { country: 'Italy', product: { category: 'Scooters' }, price: 2500000 },
    { country: 'United States', product: { category: 'Mobile Phones' }, price: 8000000 },
    { country: 'United States', product: { category: 'Laptops' }, price: 2000000 },
  ];

  beforeAll(async () => {
    t = await startTestApp();
    const project: CreatedProject = await t.createProject();
    q = queryClient(t, project);
    await q.push({
      sales: sales.map((s, i) => ({ ...s, timestamp: `2015-02-0${i + 1}T00:00:00Z` })),
      orders: [
        { address: { components: { locality: 'Brisbane' } }, total: 10, paid: true },
        { address: { components: { locality: 'Brisbane' } }, total: 5, paid: true },
        { address: { components: { locality: 'Sydney' } }, total: 7, paid: false },
        { address: { components: { locality: null } }, total: 1 },
        { address: { components: {} }, total: 2, paid: true },
        { address: 'somewhere', total: 3 },
        { total: 4, paid: true },
        { address: { components: { locality: 42 } }, total: '9' },
      ],
    });
  });
  afterAll(() => t.close());

  it('answers test vector 10 with one group', async () => {
    expect(await q.ok('sales', { select: { totalPrice: { sum: 'price' } }, groupBy: 'country' })).toEqual({
      metadata: { groups: ['country'], interval: null, timezone: null },
      results: [
        { country: 'Australia', totalPrice: 1000000, _count: 2 },
        { country: 'Italy', totalPrice: 2500000, _count: 1 },
        { country: 'United States', totalPrice: 10000000, _count: 2 },
      ],
    });
  });

  it('answers test vector 10 with two groups, the nested one as a flat dotted key', async () => {
    expect(await q.ok('sales', { select: { totalPrice: { sum: 'price' } }, groupBy: ['country', 'product.category'] })).toEqual({
      metadata: { groups: ['country', 'product.category'], interval: null, timezone: null },
      results: [
        { country: 'Australia', 'product.category': 'Bikes', totalPrice: 500000, _count: 1 },
        { country: 'Australia', 'product.category': 'Cars', totalPrice: 500000, _count: 1 },
        { country: 'Italy', 'product.category': 'Scooters', totalPrice: 2500000, _count: 1 },
        { country: 'United States', 'product.category': 'Laptops', totalPrice: 2000000, _count: 1 },
        { country: 'United States', 'product.category': 'Mobile Phones', totalPrice: 8000000, _count: 1 },
      ],
    });
  });

  it('puts events whose nested property is missing or null in one null group, last; group counts add up to the total', async () => {
    const doc = { select: { orders: 'count', total: { sum: 'total' } }, groupBy: 'address.components.locality' };
    const body = await q.ok('orders', doc);
    expect(body).toEqual({
      metadata: { groups: ['address.components.locality'], interval: null, timezone: null },
      results: [
        { 'address.components.locality': 'Brisbane', orders: 2, total: 15, _count: 2 },
        { 'address.components.locality': 'Sydney', orders: 1, total: 7, _count: 1 },
        { 'address.components.locality': 42, orders: 1, total: null, _count: 1 },
        { 'address.components.locality': null, orders: 4, total: 10, _count: 4 },
      ],
    });
    const [plain] = (await q.ok('orders', { select: { orders: 'count' } })).results;
    expect(body.results.reduce((sum, row) => sum + (row._count as number), 0)).toBe(plain._count);
  });

  it('groups by booleans, with a filter, and keeps the column order: groups, aliases, _count', async () => {
    const res = await q.query('orders', {
      select: { Total: { sum: 'total' }, n: 'count' },
      groupBy: ['paid'],
      filter: { total: { gte: 2 } },
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe(
      '{"metadata":{"groups":["paid"],"interval":null,"timezone":null},"results":[' +
        '{"paid":false,"Total":7,"n":1,"_count":1},{"paid":true,"Total":21,"n":4,"_count":4},{"paid":null,"Total":3,"n":1,"_count":1}]}',
    );
  });

  it('counts a repeated groupBy path once', async () => {
    const body = await q.ok('sales', { select: { n: 'count' }, groupBy: ['country', 'country'] });
    expect(body.metadata.groups).toEqual(['country']);
    expect(body.results).toHaveLength(3);
  });

  it('answers [] for no matching events', async () => {
    expect(await q.ok('sales', { select: { n: 'count' }, groupBy: 'country', filter: { price: { lt: 0 } } })).toEqual({
      metadata: { groups: ['country'], interval: null, timezone: null },
      results: [],
    });
  });

  it.each<[string, unknown, Array<{ field: string; description: string }>]>([
    ['a number', 5, [{ field: 'groupBy', description: 'The groupBy must be a property path or an array of them, not number.' }]],
    [
      'an object',
      { country: true },
      [{ field: 'groupBy', description: 'The groupBy must be a property path or an array of them, not object.' }],
    ],
    [
      'an array with a non-string and a bad path',
      ['country', 1, 'a.'],
      [
        { field: 'groupBy', description: 'Each groupBy entry must be a property path string, not 1.' },
        { field: 'groupBy', description: "The property path 'a.' must be non-empty names separated by single dots." },
      ],
    ],
    ['the event id', 'id', [{ field: 'groupBy', description: 'The event id cannot be queried.' }]],
    [
      'the event timestamp',
      ['timestamp'],
      [{ field: 'groupBy', description: 'The event timestamp cannot be grouped by; use "interval" to bucket events by time.' }],
    ],
  ])('answers 422 for a groupBy of %s', async (_label, groupBy, errors) => {
    const res = await q.query('sales', { select: { n: 'count' }, groupBy });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ errors });
  });

  it('answers 422 when an alias is also a group key', async () => {
    const res = await q.query('sales', { select: { country: 'count' }, groupBy: 'country' });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      errors: [{ field: 'select.country', description: 'The alias "country" is also a groupBy property; choose another alias.' }],
    });
  });

  it('answers 413 for more than 10,000 groups, and 200 for exactly 10,000', async () => {
    await q.push({ many: Array.from({ length: 10_001 }, (_, i) => ({ id: i, n: i })) });
    const ok = await q.ok('many', { select: { events: 'count' }, groupBy: 'n', filter: { n: { lt: 10_000 } } });
    expect(ok.results).toHaveLength(10_000);
    expect(ok.results[9999]).toEqual({ n: 9999, events: 1, _count: 1 });
    const tooMany = await q.query('many', { select: { events: 'count' }, groupBy: 'n' });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toEqual({
      errorMessage: 'The query would return more than 10,000 results; narrow the timeframe or filter, or group by fewer properties.',
    });
  });
});
