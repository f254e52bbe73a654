import { DateTime } from 'luxon';
import type { CreatedProject } from '../src/projects/projects.service';
import { QueryBody, queryClient, QueryClient } from './support/query';
import { startTestApp, TestApp } from './support/test-app';

/** E5 with interval (Connect docs, "Timezones", "Intervals", "Query results", "examples"). */
describe('query: intervals', () => {
  let t: TestApp;
  let q: QueryClient;

  interface Bucket {
    interval: { start: string; end: string };
    results: Array<Record<string, unknown>>;
  }
  const bucketsOf = (body: QueryBody) => body.results as unknown as Bucket[];
  const startsOf = (body: QueryBody) => bucketsOf(body).map((b) => b.interval.start);
  const countsOf = (body: QueryBody) => bucketsOf(body).map((b) => b.results.reduce((n, row) => n + (row._count as number), 0));
  /** Buckets are contiguous, ascending and exactly cover [start, end). */
  const expectTiling = (body: QueryBody, start: string, end: string) => {
    const buckets = bucketsOf(body);
    const ms = (iso: string) => Date.parse(iso);
    expect(ms(buckets[0].interval.start)).toBe(ms(start));
    expect(ms(buckets.at(-1)!.interval.end)).toBe(ms(end));
    buckets.forEach((b, i) => {
      expect(ms(b.interval.start)).toBeLessThan(ms(b.interval.end));
      if (i > 0) expect(b.interval.start).toBe(buckets[i - 1].interval.end);
    });
  };
  const between = (start: string, end: string) => ({ start, end });

  // Vector 11: per-country sales on 1–3 February 2015 (UTC).
  const vector11 = [
    ['2015-02-01T00:00:00.000Z', 'Australia', 100000],
    ['2015-02-01T12:00:00.000Z', 'Italy', 100000],
    ['2015-02-01T23:59:59.999Z', 'United States', 300000],
    ['2015-02-02T00:00:00.000Z', 'Australia', 25000],
    ['2015-02-02T08:30:00.000Z', 'Italy', 25000],
    ['2015-02-02T17:00:00.000Z', 'United States', 100000],
    ['2015-02-03T01:00:00.000Z', 'Australia', 5000],
    ['2015-02-03T02:00:00.000Z', 'Italy', 5000],
    ['2015-02-03T23:00:00.000Z', 'United States', 15000],
  ] as const;

  beforeAll(async () => {
    t = await startTestApp();
    const project: CreatedProject = await t.createProject();
    q = queryClient(t, project);
    await q.push({
      sales: [
        ...vector11.map(([timestamp, country, price]) => ({ timestamp, country, price })),
        { timestamp: '2015-01-31T23:59:59.999Z', country: 'Italy', price: 1 },
        { timestamp: '2015-02-04T00:00:00.000Z', country: 'Italy', price: 1 },
      ],
      // Around the 2015 DST changes: New York 8 March (02:00 EST → 03:00 EDT, 07:00Z) and 1 November
      // (02:00 EDT → 01:00 EST, 06:00Z); Sydney 5 April (03:00 AEDT → 02:00 AEST, 16:00Z the 4th) and
      // 4 October (02:00 AEST → 03:00 AEDT, 16:00Z the 3rd).
      dst: [
        '2015-03-08T04:59:59.999Z', // 7 March 23:59:59.999 EST
        '2015-03-08T05:00:00.000Z', // 8 March 00:00 EST
        '2015-03-08T06:30:00.000Z', // 01:30 EST
        '2015-03-08T07:30:00.000Z', // 03:30 EDT
        '2015-03-09T03:59:59.999Z', // 23:59:59.999 EDT
        '2015-03-09T04:00:00.000Z', // 9 March 00:00 EDT
        '2015-11-01T05:30:00.000Z', // 1 November 01:30 EDT
        '2015-11-01T06:30:00.000Z', // 01:30 EST, the second one
        '2015-11-02T04:59:59.999Z', // 23:59:59.999 EST
        '2015-04-04T15:30:00.000Z', // 5 April 02:30 AEDT
        '2015-04-04T16:30:00.000Z', // 02:30 AEST, the second one
        '2015-10-03T15:30:00.000Z', // 4 October 01:30 AEST
        '2015-10-03T16:30:00.000Z', // 03:30 AEDT
      ].map((timestamp) => ({ timestamp })),
      calendar: [
        '2015-01-15T00:00:00.000Z',
        '2015-02-04T00:00:00.000Z', // a Wednesday
        '2015-02-07T23:59:59.999Z', // Saturday
        '2015-02-08T00:00:00.000Z', // Sunday: a new week
        '2015-03-31T23:59:59.999Z',
        '2015-04-01T00:00:00.000Z',
        '2015-12-31T23:59:59.999Z',
        '2015-03-04T00:00:59.999Z',
        '2015-03-04T00:00:00.000Z',
        '2015-03-04T00:02:00.000Z',
      ].map((timestamp, i) => ({ timestamp, price: i + 0.5 })),
      offset: [
        '2015-02-01T13:29:59.999Z', // 1 February 23:59:59.999 at +10:30
        '2015-02-01T13:30:00.000Z', // 2 February 00:00 at +10:30
        '2015-02-02T13:29:00.000Z',
        '2015-02-02T13:30:00.000Z',
      ].map((timestamp) => ({ timestamp, n: 1 })),
    });
  });
  afterAll(() => t.close());

  describe('vector 11 (daily)', () => {
    const timeframe = between('2015-02-01T00:00:00.000Z', '2015-02-04T00:00:00.000Z');

    it('answers one bucket per day in ascending order, start and end with the +00:00 offset', async () => {
      expect(await q.ok('sales', { select: { totalPrice: { sum: 'price' } }, timeframe, interval: 'daily' })).toEqual({
        metadata: { groups: [], interval: 'daily', timezone: null },
        results: [
          {
            interval: { start: '2015-02-01T00:00:00+00:00', end: '2015-02-02T00:00:00+00:00' },
            results: [{ totalPrice: 500000, _count: 3 }],
          },
          {
            interval: { start: '2015-02-02T00:00:00+00:00', end: '2015-02-03T00:00:00+00:00' },
            results: [{ totalPrice: 150000, _count: 3 }],
          },
          {
            interval: { start: '2015-02-03T00:00:00+00:00', end: '2015-02-04T00:00:00+00:00' },
            results: [{ totalPrice: 25000, _count: 3 }],
          },
        ],
      });
    });

    it('with groupBy, lists the groups of each day inside its bucket', async () => {
      const body = await q.ok('sales', { select: { totalPrice: { sum: 'price' } }, timeframe, interval: 'daily', groupBy: 'country' });
      expect(body.metadata).toEqual({ groups: ['country'], interval: 'daily', timezone: null });
      const rows = (AU: number, IT: number, US: number) => [
        { country: 'Australia', totalPrice: AU, _count: 1 },
        { country: 'Italy', totalPrice: IT, _count: 1 },
        { country: 'United States', totalPrice: US, _count: 1 },
      ];
      expect(bucketsOf(body).map((b) => b.results)).toEqual([
        rows(100000, 100000, 300000),
        rows(25000, 25000, 100000),
        rows(5000, 5000, 15000),
      ]);
    });

    it('returns empty buckets with "results": [] and bucket counts that add up to the count of the timeframe', async () => {
      const wide = between('2015-01-30T00:00:00Z', '2015-02-06T00:00:00Z');
      const body = await q.ok('sales', { select: { n: 'count' }, timeframe: wide, interval: 'daily', groupBy: ['country'] });
      expect(startsOf(body)).toEqual(
        ['30', '31', '01', '02', '03', '04', '05'].map((d, i) => `2015-0${i < 2 ? 1 : 2}-${d}T00:00:00+00:00`),
      );
      expect(bucketsOf(body)[0].results).toEqual([]);
      expect(bucketsOf(body)[6].results).toEqual([]);
      expect(countsOf(body)).toEqual([0, 1, 3, 3, 3, 1, 0]);
      const [total] = (await q.ok('sales', { select: { n: 'count' }, timeframe: wide })).results;
      expect(total._count).toBe(11);
    });
  });

  it('clips the first and last buckets to an absolute timeframe (milliseconds shown only when not zero)', async () => {
    const body = await q.ok('sales', {
      select: { n: 'count' },
      timeframe: between('2015-02-01T10:00:00Z', '2015-02-03T01:30:00.5Z'),
      interval: 'daily',
    });
    expect(bucketsOf(body)).toEqual([
      { interval: { start: '2015-02-01T10:00:00+00:00', end: '2015-02-02T00:00:00+00:00' }, results: [{ n: 2, _count: 2 }] },
      { interval: { start: '2015-02-02T00:00:00+00:00', end: '2015-02-03T00:00:00+00:00' }, results: [{ n: 3, _count: 3 }] },
      { interval: { start: '2015-02-03T00:00:00+00:00', end: '2015-02-03T01:30:00.500+00:00' }, results: [{ n: 1, _count: 1 }] },
    ]);
  });

  describe('America/New_York DST', () => {
    it('spring forward: the 23-hour day is one daily bucket, no extra bucket appears', async () => {
      const timeframe = between('2015-03-07T05:00:00Z', '2015-03-10T04:00:00Z');
      const body = await q.ok('dst', { select: { n: 'count' }, timeframe, interval: 'daily', timezone: 'America/New_York' });
      expect(body.metadata).toEqual({ groups: [], interval: 'daily', timezone: 'America/New_York' });
      expect(bucketsOf(body).map((b) => b.interval)).toEqual([
        { start: '2015-03-07T00:00:00-05:00', end: '2015-03-08T00:00:00-05:00' },
        { start: '2015-03-08T00:00:00-05:00', end: '2015-03-09T00:00:00-04:00' },
        { start: '2015-03-09T00:00:00-04:00', end: '2015-03-10T00:00:00-04:00' },
      ]);
      expect(countsOf(body)).toEqual([1, 4, 1]);
    });

    it('spring forward: 23 hourly buckets, 01:00 EST followed by 03:00 EDT', async () => {
      const timeframe = between('2015-03-08T05:00:00Z', '2015-03-09T04:00:00Z');
      const body = await q.ok('dst', { select: { n: 'count' }, timeframe, interval: 'hourly', timezone: 'America/New_York' });
      expect(startsOf(body)).toEqual([
        '2015-03-08T00:00:00-05:00',
        '2015-03-08T01:00:00-05:00',
        ...Array.from({ length: 21 }, (_, i) => `2015-03-08T${String(i + 3).padStart(2, '0')}:00:00-04:00`),
      ]);
      expectTiling(body, timeframe.start, timeframe.end);
      expect(countsOf(body).slice(0, 4)).toEqual([1, 1, 1, 0]);
      expect(countsOf(body).at(-1)).toBe(1);
    });

    it('fall back: the 25-hour day is one daily bucket', async () => {
      const timeframe = between('2015-11-01T04:00:00Z', '2015-11-03T05:00:00Z');
      const body = await q.ok('dst', { select: { n: 'count' }, timeframe, interval: 'daily', timezone: 'America/New_York' });
      expect(bucketsOf(body).map((b) => b.interval)).toEqual([
        { start: '2015-11-01T00:00:00-04:00', end: '2015-11-02T00:00:00-05:00' },
        { start: '2015-11-02T00:00:00-05:00', end: '2015-11-03T00:00:00-05:00' },
      ]);
      expect(countsOf(body)).toEqual([3, 0]);
    });

    it('fall back: 25 hourly buckets, the repeated 01:00 once in each offset', async () => {
      const timeframe = between('2015-11-01T04:00:00Z', '2015-11-02T05:00:00Z');
      const body = await q.ok('dst', { select: { n: 'count' }, timeframe, interval: 'hourly', timezone: 'America/New_York' });
      expect(startsOf(body).slice(0, 4)).toEqual([
        '2015-11-01T00:00:00-04:00',
        '2015-11-01T01:00:00-04:00',
        '2015-11-01T01:00:00-05:00',
        '2015-11-01T02:00:00-05:00',
      ]);
      expect(startsOf(body)).toHaveLength(25);
      expectTiling(body, timeframe.start, timeframe.end);
      expect(countsOf(body).slice(0, 3)).toEqual([0, 1, 1]);
    });
  });

  describe('Australia/Sydney DST', () => {
    it('DST ends 5 April: a 25-hour daily bucket and 25 hourly buckets, 02:00 twice', async () => {
      const day = between('2015-04-04T13:00:00Z', '2015-04-05T14:00:00Z');
      const daily = await q.ok('dst', {
        select: { n: 'count' },
        timeframe: between(day.start, '2015-04-06T14:00:00Z'),
        interval: 'daily',
        timezone: 'Australia/Sydney',
      });
      expect(bucketsOf(daily).map((b) => b.interval)).toEqual([
        { start: '2015-04-05T00:00:00+11:00', end: '2015-04-06T00:00:00+10:00' },
        { start: '2015-04-06T00:00:00+10:00', end: '2015-04-07T00:00:00+10:00' },
      ]);
      expect(countsOf(daily)).toEqual([2, 0]);
      const hourly = await q.ok('dst', { select: { n: 'count' }, timeframe: day, interval: 'hourly', timezone: 'Australia/Sydney' });
      expect(startsOf(hourly)).toHaveLength(25);
      expect(startsOf(hourly).slice(2, 5)).toEqual(['2015-04-05T02:00:00+11:00', '2015-04-05T02:00:00+10:00', '2015-04-05T03:00:00+10:00']);
      expectTiling(hourly, day.start, day.end);
      expect(countsOf(hourly).slice(2, 4)).toEqual([1, 1]);
    });

    it('DST starts 4 October: a 23-hour daily bucket and 23 hourly buckets, 01:00 AEST followed by 03:00 AEDT', async () => {
      const day = between('2015-10-03T14:00:00Z', '2015-10-04T13:00:00Z');
      const daily = await q.ok('dst', { select: { n: 'count' }, timeframe: day, interval: 'daily', timezone: 'Australia/Sydney' });
      expect(bucketsOf(daily)).toEqual([
        { interval: { start: '2015-10-04T00:00:00+10:00', end: '2015-10-05T00:00:00+11:00' }, results: [{ n: 2, _count: 2 }] },
      ]);
      const hourly = await q.ok('dst', { select: { n: 'count' }, timeframe: day, interval: 'hourly', timezone: 'Australia/Sydney' });
      expect(startsOf(hourly)).toHaveLength(23);
      expect(startsOf(hourly).slice(1, 3)).toEqual(['2015-10-04T01:00:00+10:00', '2015-10-04T03:00:00+11:00']);
      expectTiling(hourly, day.start, day.end);
      expect(countsOf(hourly).slice(1, 3)).toEqual([1, 1]);
    });
  });

  it('uses a fixed decimal-hour offset (10.5): days start at 13:30Z, hours at half past', async () => {
    const timeframe = between('2015-02-01T13:30:00Z', '2015-02-03T13:30:00Z');
    const daily = await q.ok('offset', { select: { total: { sum: 'n' } }, timeframe, interval: 'daily', timezone: 10.5 });
    expect(daily).toEqual({
      metadata: { groups: [], interval: 'daily', timezone: 10.5 },
      results: [
        { interval: { start: '2015-02-02T00:00:00+10:30', end: '2015-02-03T00:00:00+10:30' }, results: [{ total: 2, _count: 2 }] },
        { interval: { start: '2015-02-03T00:00:00+10:30', end: '2015-02-04T00:00:00+10:30' }, results: [{ total: 1, _count: 1 }] },
      ],
    });
    const hourly = await q.ok('offset', {
      select: { total: { sum: 'n' } },
      timeframe: between('2015-02-01T12:00:00Z', '2015-02-01T14:00:00Z'),
      interval: 'hourly',
      timezone: 10.5,
    });
    expect(bucketsOf(hourly).map((b) => [b.interval.start, b.interval.end, b.results.length])).toEqual([
      ['2015-02-01T22:30:00+10:30', '2015-02-01T23:00:00+10:30', 0],
      ['2015-02-01T23:00:00+10:30', '2015-02-02T00:00:00+10:30', 1],
      ['2015-02-02T00:00:00+10:30', '2015-02-02T00:30:00+10:30', 1],
    ]);
  });

  describe('calendar units', () => {
    const run = async (interval: string, start: string, end: string) =>
      bucketsOf(await q.ok('calendar', { select: { n: 'count' }, timeframe: between(start, end), interval })).map((b) => [
        b.interval.start,
        b.interval.end,
        b.results.length === 0 ? 0 : b.results[0]._count,
      ]);

    it('minutely (vector 14 shape)', async () => {
      expect(await run('minutely', '2015-03-04T00:00:00Z', '2015-03-04T00:03:00Z')).toEqual([
        ['2015-03-04T00:00:00+00:00', '2015-03-04T00:01:00+00:00', 2],
        ['2015-03-04T00:01:00+00:00', '2015-03-04T00:02:00+00:00', 0],
        ['2015-03-04T00:02:00+00:00', '2015-03-04T00:03:00+00:00', 1],
      ]);
    });

    it('weekly: weeks start on Sunday', async () => {
      expect(await run('weekly', '2015-02-04T00:00:00Z', '2015-02-22T00:00:00Z')).toEqual([
        ['2015-02-04T00:00:00+00:00', '2015-02-08T00:00:00+00:00', 2],
        ['2015-02-08T00:00:00+00:00', '2015-02-15T00:00:00+00:00', 1],
        ['2015-02-15T00:00:00+00:00', '2015-02-22T00:00:00+00:00', 0],
      ]);
    });

    it('monthly, quarterly and yearly (WEEKLY given in upper case is accepted too)', async () => {
      expect(await run('monthly', '2015-01-15T00:00:00Z', '2015-04-01T00:00:00Z')).toEqual([
        ['2015-01-15T00:00:00+00:00', '2015-02-01T00:00:00+00:00', 1],
        ['2015-02-01T00:00:00+00:00', '2015-03-01T00:00:00+00:00', 3],
        ['2015-03-01T00:00:00+00:00', '2015-04-01T00:00:00+00:00', 4],
      ]);
      expect(await run('quarterly', '2015-01-01T00:00:00Z', '2016-01-01T00:00:00Z')).toEqual([
        ['2015-01-01T00:00:00+00:00', '2015-04-01T00:00:00+00:00', 8],
        ['2015-04-01T00:00:00+00:00', '2015-07-01T00:00:00+00:00', 1],
        ['2015-07-01T00:00:00+00:00', '2015-10-01T00:00:00+00:00', 0],
        ['2015-10-01T00:00:00+00:00', '2016-01-01T00:00:00+00:00', 1],
      ]);
      expect(await run('yearly', '2014-06-01T00:00:00Z', '2016-01-01T00:00:00Z')).toEqual([
        ['2014-06-01T00:00:00+00:00', '2015-01-01T00:00:00+00:00', 0],
        ['2015-01-01T00:00:00+00:00', '2016-01-01T00:00:00+00:00', 10],
      ]);
      expect(await run('WEEKLY', '2015-02-08T00:00:00Z', '2015-02-15T00:00:00Z')).toHaveLength(1);
    });
  });

  it('resolves a relative timeframe in the query timezone: "today" hourly at +10:30 is 24 buckets of today', async () => {
    const doc = { select: { n: 'count' }, timeframe: 'today', interval: 'hourly', timezone: 10.5 };
    const today = DateTime.now().setZone('UTC+10:30').startOf('day');
    const body = await q.ok('sales', doc);
    if (!DateTime.now().setZone('UTC+10:30').startOf('day').equals(today)) return; // the day changed meanwhile
    expect(body.metadata).toEqual({ groups: [], interval: 'hourly', timezone: 10.5 });
    expect(startsOf(body)).toHaveLength(24);
    expect(startsOf(body)[0]).toBe(today.toFormat("yyyy-MM-dd'T'HH:mm:ssZZ"));
    expectTiling(body, today.toISO()!, today.plus({ days: 1 }).toISO()!);
  });

  it('answers the Pinecast production query (vector 17): previous 720 hours, daily, numeric timezone', async () => {
    const doc = {
      select: { episode: 'count' },
      timezone: -5,
      filter: { podcast: { in: ['a', 'b'] } },
      groupBy: 'podcast',
      timeframe: { previous: { hours: 720 } },
      interval: 'daily',
    };
    const end = DateTime.now().setZone('UTC-5').startOf('hour');
    const body = await q.ok('sales', doc);
    if (!DateTime.now().setZone('UTC-5').startOf('hour').equals(end)) return; // the hour changed meanwhile
    expect(body.metadata).toEqual({ groups: ['podcast'], interval: 'daily', timezone: -5 });
    expectTiling(body, end.minus({ hours: 720 }).toISO()!, end.toISO()!);
    expect(
      startsOf(body)
        .slice(1)
        .every((s) => s.endsWith('T00:00:00-05:00')),
    ).toBe(true);
    expect(bucketsOf(body).every((b) => b.results.length === 0)).toBe(true);
  });

  describe('errors', () => {
    it.each<[string, Record<string, unknown>, Array<{ field: string; description: string }>]>([
      [
        'an interval without a timeframe',
        { interval: 'daily' },
        [{ field: 'interval', description: expect.stringContaining('An interval needs a timeframe with a start and an end') }],
      ],
      [
        'an interval with an open-ended timeframe',
        { interval: 'daily', timeframe: { start: '2015-02-01T00:00:00Z' } },
        [{ field: 'interval', description: expect.stringContaining('An interval needs a timeframe with a start and an end') }],
      ],
      [
        'an unknown interval',
        { interval: 'fortnightly', timeframe: 'this_month' },
        [
          {
            field: 'interval',
            description: "Unknown interval 'fortnightly'; expected one of minutely, hourly, daily, weekly, monthly, quarterly, yearly.",
          },
        ],
      ],
      [
        'an interval that is not a string, with a timezone (no extra timezone error)',
        { interval: 1, timeframe: between('2015-02-01T00:00:00Z', '2015-02-02T00:00:00Z'), timezone: 10 },
        [
          {
            field: 'interval',
            description:
              'The interval must be a string, not number; expected one of minutely, hourly, daily, weekly, monthly, quarterly, yearly.',
          },
        ],
      ],
      [
        'an unknown timezone',
        { interval: 'daily', timeframe: 'this_month', timezone: 'Japan/Tokyo' },
        [{ field: 'timezone', description: expect.stringContaining("Unknown time zone 'Japan/Tokyo'") }],
      ],
    ])('answers 422 for %s', async (_label, doc, errors) => {
      const res = await q.query('sales', { select: { n: 'count' }, ...doc });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ errors });
    });

    it('answers 413 for more than 10,000 buckets, and 200 for exactly 10,000', async () => {
      const ok = await q.ok('sales', {
        select: { n: 'count' },
        timeframe: between('2015-02-01T00:00:00Z', '2015-02-07T22:40:00Z'),
        interval: 'minutely',
      });
      expect(ok.results).toHaveLength(10_000);
      const res = await q.query('sales', {
        select: { n: 'count' },
        timeframe: between('2015-02-01T00:00:00Z', '2015-02-07T22:41:00Z'),
        interval: 'minutely',
      });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({
        errorMessage: 'The interval splits the timeframe into more than 10,000 buckets; use a longer interval or a shorter timeframe.',
      });
    });

    it('answers 413 for more than 10,000 rows across buckets and groups', async () => {
      await q.push({ spread: Array.from({ length: 10_001 }, (_, i) => ({ timestamp: `2015-02-0${1 + (i % 2)}T00:00:00Z`, g: i })) });
      const res = await q.query('spread', {
        select: { n: 'count' },
        timeframe: between('2015-02-01T00:00:00Z', '2015-02-03T00:00:00Z'),
        interval: 'daily',
        groupBy: 'g',
      });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({
        errorMessage: 'The query would return more than 10,000 results; narrow the timeframe or filter, or group by fewer properties.',
      });
    });
  });
});
