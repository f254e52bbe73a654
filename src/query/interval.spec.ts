import { DateTime, FixedOffsetZone, IANAZone, Zone } from 'luxon';
import { TooManyResultsError, ValidationError } from '../common';
import { formatIntervalInstant, INTERVAL_UNITS, intervalBoundaries, parseInterval } from './interval';
import { IntervalName } from './query.types';
import { startOfUnit } from './timeframe';

const utc = FixedOffsetZone.utcInstance;
const zone = (name: string): Zone => IANAZone.create(name);
const tf = (start: string, end: string) => ({ start: new Date(start), end: new Date(end) });
/** Boundaries rendered in the zone, for readable expectations. */
const boundaries = (start: string, end: string, interval: IntervalName, z: Zone, max = 10_000) =>
  intervalBoundaries(tf(start, end), interval, z, max).map(formatIntervalInstant);
const at = (iso: string, z: Zone) => ({ epochMs: Date.parse(iso), offsetMinutes: z.offset(Date.parse(iso)) });

/**
 * The plain luxon definition every boundary must match: the unit starts after `start` (each the first
 * `startOfUnit(previous + k units)` that advances), clipped to [start, end].
 */
function reference(start: string, end: string, interval: IntervalName, z: Zone): number[] {
  const unit = INTERVAL_UNITS.get(interval)!;
  const out = [Date.parse(start)];
  let cursor = startOfUnit(DateTime.fromMillis(Date.parse(start), { zone: z }), unit);
  for (;;) {
    let units = 1;
    while (startOfUnit(cursor.plus({ [unit]: units }), unit) <= cursor) units++;
    cursor = startOfUnit(cursor.plus({ [unit]: units }), unit);
    if (cursor.toMillis() >= Date.parse(end)) break;
    out.push(cursor.toMillis());
  }
  return [...out, Date.parse(end)];
}

describe('parseInterval (Connect docs, "Intervals")', () => {
  it.each([...INTERVAL_UNITS.keys()])('accepts %s', (name) => {
    expect(parseInterval(name)).toBe(name);
    expect(parseInterval(name.toUpperCase())).toBe(name);
  });

  it.each([undefined, null, ''])('means "no interval" for %j', (value) => {
    expect(parseInterval(value)).toBeNull();
  });

  it.each([
    ['fortnightly', "Unknown interval 'fortnightly'"],
    ['day', "Unknown interval 'day'"],
    [1, 'The interval must be a string, not number'],
    [['daily'], 'The interval must be a string, not array'],
  ])('rejects %j', (value, message) => {
    expect(() => parseInterval(value)).toThrow(ValidationError);
    try {
      parseInterval(value);
    } catch (error) {
      expect((error as ValidationError).errors).toEqual([{ field: 'interval', description: expect.stringContaining(message) }]);
    }
  });
});

describe('intervalBoundaries', () => {
  it('tiles an aligned timeframe with whole units', () => {
    expect(boundaries('2015-02-01T00:00:00Z', '2015-02-04T00:00:00Z', 'daily', utc)).toEqual([
      '2015-02-01T00:00:00+00:00',
      '2015-02-02T00:00:00+00:00',
      '2015-02-03T00:00:00+00:00',
      '2015-02-04T00:00:00+00:00',
    ]);
  });

  it('clips the first and last bucket to the timeframe', () => {
    expect(boundaries('2015-02-01T10:00:00Z', '2015-02-02T06:00:00.250Z', 'daily', utc)).toEqual([
      '2015-02-01T10:00:00+00:00',
      '2015-02-02T00:00:00+00:00',
      '2015-02-02T06:00:00.250+00:00',
    ]);
  });

  it('gives no bucket for an empty timeframe, and one for a timeframe inside one unit', () => {
    expect(intervalBoundaries(tf('2015-02-01T00:00:00Z', '2015-02-01T00:00:00Z'), 'daily', utc, 10)).toEqual([]);
    expect(boundaries('2015-02-01T01:00:00Z', '2015-02-01T02:00:00Z', 'yearly', utc)).toEqual([
      '2015-02-01T01:00:00+00:00',
      '2015-02-01T02:00:00+00:00',
    ]);
  });

  it('starts weeks on Sunday, and steps months, quarters and years on the calendar', () => {
    expect(boundaries('2015-02-04T00:00:00Z', '2015-02-20T00:00:00Z', 'weekly', utc)).toEqual([
      '2015-02-04T00:00:00+00:00',
      '2015-02-08T00:00:00+00:00',
      '2015-02-15T00:00:00+00:00',
      '2015-02-20T00:00:00+00:00',
    ]);
    expect(boundaries('2015-01-31T00:00:00Z', '2015-04-01T00:00:00Z', 'monthly', utc).slice(1)).toEqual([
      '2015-02-01T00:00:00+00:00',
      '2015-03-01T00:00:00+00:00',
      '2015-04-01T00:00:00+00:00',
    ]);
    expect(boundaries('2015-02-15T00:00:00Z', '2016-01-01T00:00:00Z', 'quarterly', utc).slice(1, -1)).toEqual([
      '2015-04-01T00:00:00+00:00',
      '2015-07-01T00:00:00+00:00',
      '2015-10-01T00:00:00+00:00',
    ]);
    expect(boundaries('2014-06-01T00:00:00Z', '2016-06-01T00:00:00Z', 'yearly', utc).slice(1, -1)).toEqual([
      '2015-01-01T00:00:00+00:00',
      '2016-01-01T00:00:00+00:00',
    ]);
  });

  it('follows a decimal-hour offset (10.5) and a -8 offset', () => {
    expect(boundaries('2015-02-01T00:00:00Z', '2015-02-02T00:00:00Z', 'daily', FixedOffsetZone.instance(630))).toEqual([
      '2015-02-01T10:30:00+10:30',
      '2015-02-02T00:00:00+10:30',
      '2015-02-02T10:30:00+10:30',
    ]);
    expect(boundaries('2015-02-01T07:30:00Z', '2015-02-01T09:00:00Z', 'hourly', FixedOffsetZone.instance(-480))).toEqual([
      '2015-01-31T23:30:00-08:00',
      '2015-02-01T00:00:00-08:00',
      '2015-02-01T01:00:00-08:00',
    ]);
  });

  describe('DST', () => {
    const ny = zone('America/New_York');
    const sydney = zone('Australia/Sydney');

    it('New York spring forward: one 23-hour daily bucket, 23 hourly buckets', () => {
      expect(boundaries('2015-03-08T05:00:00Z', '2015-03-10T04:00:00Z', 'daily', ny)).toEqual([
        '2015-03-08T00:00:00-05:00',
        '2015-03-09T00:00:00-04:00',
        '2015-03-10T00:00:00-04:00',
      ]);
      const hourly = boundaries('2015-03-08T05:00:00Z', '2015-03-09T04:00:00Z', 'hourly', ny);
      expect(hourly).toHaveLength(24);
      expect(hourly.slice(1, 3)).toEqual(['2015-03-08T01:00:00-05:00', '2015-03-08T03:00:00-04:00']);
    });

    it('New York fall back: one 25-hour daily bucket, 25 hourly buckets', () => {
      expect(boundaries('2015-11-01T04:00:00Z', '2015-11-02T05:00:00Z', 'daily', ny)).toEqual([
        '2015-11-01T00:00:00-04:00',
        '2015-11-02T00:00:00-05:00',
      ]);
      const hourly = boundaries('2015-11-01T04:00:00Z', '2015-11-02T05:00:00Z', 'hourly', ny);
      expect(hourly).toHaveLength(26);
      expect(hourly.slice(1, 4)).toEqual(['2015-11-01T01:00:00-04:00', '2015-11-01T01:00:00-05:00', '2015-11-01T02:00:00-05:00']);
    });

    it('Sydney: 25-hour 5 April and 23-hour 4 October', () => {
      expect(boundaries('2015-04-04T13:00:00Z', '2015-04-05T14:00:00Z', 'daily', sydney)).toEqual([
        '2015-04-05T00:00:00+11:00',
        '2015-04-06T00:00:00+10:00',
      ]);
      expect(boundaries('2015-10-03T14:00:00Z', '2015-10-04T13:00:00Z', 'daily', sydney)).toEqual([
        '2015-10-04T00:00:00+10:00',
        '2015-10-05T00:00:00+11:00',
      ]);
      expect(boundaries('2015-04-04T13:00:00Z', '2015-04-05T14:00:00Z', 'hourly', sydney)).toHaveLength(26);
      expect(boundaries('2015-10-03T14:00:00Z', '2015-10-04T13:00:00Z', 'hourly', sydney)).toHaveLength(24);
    });

    it('a day whose midnight does not exist (São Paulo, 18 October 2015) starts at 01:00, the next day at midnight again', () => {
      expect(boundaries('2015-10-17T03:00:00Z', '2015-10-20T02:00:00Z', 'daily', zone('America/Sao_Paulo'))).toEqual([
        '2015-10-17T00:00:00-03:00',
        '2015-10-18T01:00:00-02:00',
        '2015-10-19T00:00:00-02:00',
        '2015-10-20T00:00:00-02:00',
      ]);
    });

    it('Lord Howe half-hour fall back: 01:00 at +11:00 is followed by 02:00 at +10:30', () => {
      expect(boundaries('2015-04-04T13:00:00Z', '2015-04-04T17:30:00Z', 'hourly', zone('Australia/Lord_Howe'))).toEqual([
        '2015-04-05T00:00:00+11:00',
        '2015-04-05T01:00:00+11:00',
        '2015-04-05T02:00:00+10:30',
        '2015-04-05T03:00:00+10:30',
        '2015-04-05T04:00:00+10:30',
      ]);
    });

    // Minutes and hours take a fast path (elapsed time while the offset holds); it must equal luxon's calendar.
    it.each([
      ['America/New_York', '2015-03-07T00:00:00Z', '2015-03-09T12:00:00Z'],
      ['America/New_York', '2015-10-31T00:00:00Z', '2015-11-02T12:00:00Z'],
      ['Australia/Lord_Howe', '2015-04-04T00:00:00Z', '2015-04-05T12:00:00Z'],
      ['Australia/Lord_Howe', '2015-10-03T00:00:00Z', '2015-10-04T12:00:00Z'],
      ['Asia/Kathmandu', '2015-01-01T00:00:00Z', '2015-01-03T00:00:00Z'],
      ['Europe/London', '2015-03-28T00:00:00Z', '2015-03-30T00:00:00Z'],
      ['America/Sao_Paulo', '2015-10-17T00:00:00Z', '2015-10-19T00:00:00Z'],
      ['America/Sao_Paulo', '2015-01-01T00:00:00Z', '2016-12-31T00:00:00Z'],
      ['Pacific/Apia', '2011-12-25T00:00:00Z', '2012-01-05T00:00:00Z'], // skipped 30 December 2011 entirely
      ['America/New_York', '1883-11-15T00:00:00Z', '1883-11-22T00:00:00Z'], // LMT -4:56:02 to EST
    ])('minutely, hourly and daily in %s (%s → %s) match the calendar definition', (name, start, end) => {
      for (const interval of ['daily', 'hourly', 'minutely'] as const) {
        const unitMs = { daily: 86_400_000, hourly: 3_600_000, minutely: 60_000 }[interval];
        if ((Date.parse(end) - Date.parse(start)) / unitMs > 9_000) continue; // stay under the 10,000-bucket limit
        const actual = intervalBoundaries(tf(start, end), interval, zone(name), 10_000);
        expect(actual.map((b) => b.epochMs)).toEqual(reference(start, end, interval, zone(name)));
        expect(actual.map((b) => b.offsetMinutes)).toEqual(actual.map((b) => zone(name).offset(b.epochMs)));
      }
    });
  });

  it('throws TooManyResultsError past maxBuckets, after at most maxBuckets + 1 steps', () => {
    expect(intervalBoundaries(tf('2015-01-01T00:00:00Z', '2015-01-01T00:10:00Z'), 'minutely', utc, 10)).toHaveLength(11);
    expect(() => intervalBoundaries(tf('2015-01-01T00:00:00Z', '2015-01-01T00:10:01Z'), 'minutely', utc, 10)).toThrow(TooManyResultsError);
    const started = Date.now();
    expect(() =>
      intervalBoundaries(tf('0001-01-01T00:00:00Z', '9999-01-01T00:00:00Z'), 'minutely', zone('America/New_York'), 10_000),
    ).toThrow('The interval splits the timeframe into more than 10,000 buckets; use a longer interval or a shorter timeframe.');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses an open timeframe (a programming error: the parser requires both bounds)', () => {
    expect(() => intervalBoundaries({ start: new Date(), end: null }, 'daily', utc, 10)).toThrow('bounded timeframe');
    expect(() => intervalBoundaries(null, 'daily', utc, 10)).toThrow('bounded timeframe');
  });
});

describe('formatIntervalInstant', () => {
  it('writes the offset, +00:00 for UTC, milliseconds only when not zero', () => {
    expect(formatIntervalInstant(at('2015-02-01T00:00:00Z', utc))).toBe('2015-02-01T00:00:00+00:00');
    expect(formatIntervalInstant(at('2015-02-01T00:00:00.5Z', utc))).toBe('2015-02-01T00:00:00.500+00:00');
    expect(formatIntervalInstant(at('2015-01-01T00:00:00Z', zone('Europe/London')))).toBe('2015-01-01T00:00:00+00:00');
    expect(formatIntervalInstant(at('2015-02-01T00:00:00Z', zone('Australia/Brisbane')))).toBe('2015-02-01T10:00:00+10:00');
    expect(formatIntervalInstant(at('2015-02-01T00:00:00Z', FixedOffsetZone.instance(-570)))).toBe('2015-01-31T14:30:00-09:30');
    expect(formatIntervalInstant(at('2015-02-01T00:00:00Z', FixedOffsetZone.instance(345)))).toBe('2015-02-01T05:45:00+05:45');
    expect(formatIntervalInstant(at('0001-01-01T00:00:00Z', utc))).toBe('0001-01-01T00:00:00+00:00');
  });

  it('agrees with luxon, also for offsets in seconds (New York before 1883) and the year 10000', () => {
    const ny = zone('America/New_York');
    for (const iso of ['1850-06-01T12:00:00.250Z', '2015-03-08T07:00:00Z', '2015-11-01T06:00:00Z', '9999-12-31T23:00:00Z']) {
      for (const z of [ny, zone('Pacific/Kiritimati'), zone('Asia/Kathmandu')]) {
        const expected = DateTime.fromMillis(Date.parse(iso), { zone: z }).toISO({ suppressMilliseconds: true });
        expect(formatIntervalInstant(at(iso, z))).toBe(expected);
      }
    }
  });
});
