import { errorsOf } from '../../test/support/validation-errors';
import { parseAggregationQuery } from './aggregation-query';

const now = new Date('2015-02-17T15:42:17.123Z');
const absolute = { start: '2015-02-01T00:00:00Z', end: '2015-02-04T00:00:00Z' };

describe('parseAggregationQuery (Connect docs, "Querying")', () => {
  it('parses every key of the Pinecast production query (vector 17)', () => {
    const doc = {
      select: { episode: 'count' },
      timezone: -5,
      filter: { podcast: { in: ['a', 'b'] } },
      groupBy: 'podcast',
      timeframe: { previous: { hours: 720 } },
      interval: 'daily',
    };
    expect(parseAggregationQuery(doc, now)).toEqual({
      select: [{ alias: 'episode', operation: 'count' }],
      groupBy: [{ key: 'podcast', path: ['podcast'] }],
      interval: 'daily',
      selection: {
        filters: [{ path: ['podcast'], operator: 'in', operand: ['a', 'b'] }],
        timeframe: { start: new Date('2015-01-18T15:00:00.000Z'), end: new Date('2015-02-17T15:00:00.000Z') },
        timezone: { kind: 'offset', minutes: -300, input: -5 },
      },
    });
  });

  it('ignores unknown top-level keys and the empty values SDKs send', () => {
    expect(
      parseAggregationQuery({ select: { n: 'count' }, filter: {}, groupBy: [], interval: null, timeframe: null, nonEmpty: false }, now),
    ).toEqual({
      select: [{ alias: 'n', operation: 'count' }],
      groupBy: [],
      interval: null,
      selection: { filters: [], timeframe: null, timezone: null },
    });
  });

  it('needs a select', () => {
    expect(errorsOf(() => parseAggregationQuery({}, now)).map((e) => e.field)).toEqual(['select']);
  });

  it('needs a timeframe with both bounds for an interval', () => {
    expect(parseAggregationQuery({ select: { n: 'count' }, interval: 'daily', timeframe: absolute }, now).interval).toBe('daily');
    for (const timeframe of [undefined, { start: '2015-02-01T00:00:00Z' }, { end: '2015-02-01T00:00:00Z' }, { start: '', end: '' }]) {
      expect(errorsOf(() => parseAggregationQuery({ select: { n: 'count' }, interval: 'daily', timeframe }, now))).toEqual([
        { field: 'interval', description: expect.stringContaining('An interval needs a timeframe with a start and an end') },
      ]);
    }
  });

  it('applies the timezone rule of Connect docs, "Timezones" knowing whether an interval was given', () => {
    expect(
      parseAggregationQuery({ select: { n: 'count' }, interval: 'daily', timeframe: absolute, timezone: 10 }, now).selection.timezone,
    ).toEqual({
      kind: 'offset',
      minutes: 600,
      input: 10,
    });
    expect(
      errorsOf(() => parseAggregationQuery({ select: { n: 'count' }, timeframe: absolute, timezone: 10 }, now)).map((e) => e.field),
    ).toEqual(['timezone']);
    // An invalid interval is still an interval: only its own error is reported.
    expect(
      errorsOf(() => parseAggregationQuery({ select: { n: 'count' }, interval: 'often', timeframe: absolute, timezone: 10 }, now)).map(
        (e) => e.field,
      ),
    ).toEqual(['interval']);
  });

  it('refuses an alias that is also a group key', () => {
    expect(
      errorsOf(() => parseAggregationQuery({ select: { country: 'count', n: 'count' }, groupBy: ['product.category', 'country'] }, now)),
    ).toEqual([{ field: 'select.country', description: 'The alias "country" is also a groupBy property; choose another alias.' }]);
  });

  it('collects the errors of every key in order: select, groupBy, interval, then the selection', () => {
    const doc = { select: { n: 'avg' }, groupBy: 5, interval: 'often', filter: { id: 1 }, timeframe: 'someday', timezone: 'Japan/Tokyo' };
    expect(errorsOf(() => parseAggregationQuery(doc, now)).map((e) => e.field)).toEqual([
      'select.n',
      'groupBy',
      'interval',
      'filter.id',
      'timezone',
      'timeframe',
    ]);
  });
});
