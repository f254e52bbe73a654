import { ExactNumber } from '../common';
import { FixedOffsetZone } from 'luxon';
import { parseAggregationQuery } from './aggregation-query';
import { intervalBoundaries } from './interval';
import { shapeQueryResponse, toJsonNumber } from './query-results';

const now = new Date('2015-02-17T00:00:00Z');

describe('toJsonNumber', () => {
  it('turns pg bigint and numeric strings into numbers without trailing zeros, keeps null', () => {
    expect(toJsonNumber('25')).toBe(25);
    expect(toJsonNumber('219.7300000000000000')).toBe(219.73);
    expect(toJsonNumber('-0.30000000000000000000')).toBe(-0.3);
    expect(toJsonNumber('3.00')).toBe(3);
    expect(toJsonNumber('-0.000')).toBe(0);
    expect(toJsonNumber(7)).toBe(7);
    expect(toJsonNumber(null)).toBeNull();
    expect(toJsonNumber(undefined)).toBeNull();
  });

  it('keeps every digit a double would lose, as an ExactNumber', () => {
    expect(toJsonNumber('9007199254740993')).toEqual(new ExactNumber('9007199254740993'));
    expect(toJsonNumber('24691357802469135780')).toEqual(new ExactNumber('24691357802469135780'));
    expect(toJsonNumber('0.33333333333333333333')).toEqual(new ExactNumber('0.33333333333333333333'));
    // Beyond the double range too: the sum is still an exact JSON number (it used to be null).
    expect(toJsonNumber(`2${'0'.repeat(308)}`)).toEqual(new ExactNumber(`2${'0'.repeat(308)}`));
  });
});

describe('shapeQueryResponse (Connect docs, "Query results")', () => {
  it('plain: one row, aliases in select order, count aliases equal to _count, then _count', () => {
    const query = parseAggregationQuery({ select: { total: { sum: 'price' }, n: 'count', low: { min: 'price' } } }, now);
    const body = shapeQueryResponse(query, [{ _count: '3', a0: '12.50', a2: null }], null);
    expect(JSON.stringify(body)).toBe(
      '{"metadata":{"groups":[],"interval":null,"timezone":null},"results":[{"total":12.5,"n":3,"low":null,"_count":3}]}',
    );
  });

  it('grouped: group keys first (values as stored, null for the null group)', () => {
    const query = parseAggregationQuery({ select: { n: 'count' }, groupBy: ['country', 'product.category'] }, now);
    const body = shapeQueryResponse(
      query,
      [
        { g0: '"Italy"', g1: '{"a": [1]}', _count: '1' },
        { g0: null, g1: null, _count: '2' },
      ],
      null,
    );
    expect(body.results).toEqual([
      { country: 'Italy', 'product.category': { a: [1] }, n: 1, _count: 1 },
      { country: null, 'product.category': null, n: 2, _count: 2 },
    ]);
  });

  it('keeps an alias named __proto__ as an ordinary key', () => {
    const query = parseAggregationQuery({ select: JSON.parse('{"__proto__": "count"}') }, now);
    expect(JSON.stringify(shapeQueryResponse(query, [{ _count: '1' }], null).results)).toBe('[{"__proto__":1,"_count":1}]');
  });

  it('interval: every bucket in order, rows placed by bucket number, empty buckets with []', () => {
    const doc = {
      select: { n: 'count' },
      groupBy: 'g',
      interval: 'daily',
      timeframe: { start: '2015-02-01T00:00:00Z', end: '2015-02-04T00:00:00Z' },
      timezone: 10.5,
    };
    const query = parseAggregationQuery(doc, now);
    const boundaries = intervalBoundaries(query.selection.timeframe, 'daily', FixedOffsetZone.instance(630), 100);
    const body = shapeQueryResponse(
      query,
      [
        { bucket: 1, g0: '"a"', _count: '1' },
        { bucket: 1, g0: '"b"', _count: '2' },
        { bucket: 4, g0: null, _count: '3' },
      ],
      boundaries,
    );
    expect(body).toEqual({
      metadata: { groups: ['g'], interval: 'daily', timezone: 10.5 },
      results: [
        {
          interval: { start: '2015-02-01T10:30:00+10:30', end: '2015-02-02T00:00:00+10:30' },
          results: [
            { g: 'a', n: 1, _count: 1 },
            { g: 'b', n: 2, _count: 2 },
          ],
        },
        { interval: { start: '2015-02-02T00:00:00+10:30', end: '2015-02-03T00:00:00+10:30' }, results: [] },
        { interval: { start: '2015-02-03T00:00:00+10:30', end: '2015-02-04T00:00:00+10:30' }, results: [] },
        { interval: { start: '2015-02-04T00:00:00+10:30', end: '2015-02-04T10:30:00+10:30' }, results: [{ g: null, n: 3, _count: 3 }] },
      ],
    });
  });
});
