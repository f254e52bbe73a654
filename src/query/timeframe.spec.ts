import { errorsOf } from '../../test/support/validation-errors';
import { Settings } from 'luxon';
import { QueryTimezone } from './query.types';
import { resolveTimeframe, timeframeKind } from './timeframe';
import { parseTimezone } from './timezone';

/** Resolves and renders as ISO strings (null for an open bound). */
function range(value: unknown, now: string, timezone: QueryTimezone | null = null): [string | null, string | null] {
  const tf = resolveTimeframe(value, timezone, new Date(now));
  return [tf.start?.toISOString() ?? null, tf.end?.toISOString() ?? null];
}

const NOW = '2026-05-13T15:42:17.123Z'; // a Wednesday

describe('resolveTimeframe in UTC', () => {
  it.each<[string, string, string]>([
    ['this_minute', '2026-05-13T15:42:00.000Z', '2026-05-13T15:43:00.000Z'],
    ['last_minute', '2026-05-13T15:41:00.000Z', '2026-05-13T15:42:00.000Z'],
    ['this_hour', '2026-05-13T15:00:00.000Z', '2026-05-13T16:00:00.000Z'],
    ['last_hour', '2026-05-13T14:00:00.000Z', '2026-05-13T15:00:00.000Z'],
    ['today', '2026-05-13T00:00:00.000Z', '2026-05-14T00:00:00.000Z'],
    ['yesterday', '2026-05-12T00:00:00.000Z', '2026-05-13T00:00:00.000Z'],
    ['this_week', '2026-05-10T00:00:00.000Z', '2026-05-17T00:00:00.000Z'],
    ['last_week', '2026-05-03T00:00:00.000Z', '2026-05-10T00:00:00.000Z'],
    ['this_month', '2026-05-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z'],
    ['last_month', '2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'],
    ['this_quarter', '2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
    ['last_quarter', '2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['this_year', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['last_year', '2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
  ])('%s', (name, start, end) => {
    expect(range(name, NOW)).toEqual([start, end]);
  });

  it('accepts named timeframes case-insensitively (a Swift SDK version sent "Last_year")', () => {
    expect(range('Last_year', NOW)).toEqual(['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
  });

  it.each<[string, number, string, string]>([
    ['minutes', 3, '2026-05-13T15:40:00.000Z', '2026-05-13T15:43:00.000Z'],
    ['hours', 3, '2026-05-13T13:00:00.000Z', '2026-05-13T16:00:00.000Z'],
    ['days', 3, '2026-05-11T00:00:00.000Z', '2026-05-14T00:00:00.000Z'],
    ['weeks', 3, '2026-04-26T00:00:00.000Z', '2026-05-17T00:00:00.000Z'],
    ['months', 3, '2026-03-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z'],
    ['quarters', 3, '2025-10-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
    ['years', 3, '2024-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['days', 1, '2026-05-13T00:00:00.000Z', '2026-05-14T00:00:00.000Z'],
  ])('current %s: %d', (unit, n, start, end) => {
    expect(range({ current: { [unit]: n } }, NOW)).toEqual([start, end]);
  });

  it.each<[string, number, string, string]>([
    ['minutes', 3, '2026-05-13T15:39:00.000Z', '2026-05-13T15:42:00.000Z'],
    ['hours', 3, '2026-05-13T12:00:00.000Z', '2026-05-13T15:00:00.000Z'],
    ['days', 3, '2026-05-10T00:00:00.000Z', '2026-05-13T00:00:00.000Z'],
    ['weeks', 3, '2026-04-19T00:00:00.000Z', '2026-05-10T00:00:00.000Z'],
    ['months', 2, '2026-03-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z'],
    ['quarters', 3, '2025-07-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['years', 3, '2023-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['hours', 720, '2026-04-13T15:00:00.000Z', '2026-05-13T15:00:00.000Z'], // Pinecast production query
  ])('previous %s: %d', (unit, n, start, end) => {
    expect(range({ previous: { [unit]: n } }, NOW)).toEqual([start, end]);
  });

  it('treats this_X as current 1 X and last_X as previous 1 X', () => {
    expect(range('this_week', NOW)).toEqual(range({ current: { weeks: 1 } }, NOW));
    expect(range('last_quarter', NOW)).toEqual(range({ previous: { quarters: 1 } }, NOW));
    expect(range('yesterday', NOW)).toEqual(range({ previous: { days: 1 } }, NOW));
  });

  it('crosses month ends by calendar months (previous 1 month from 31 March is February)', () => {
    expect(range('last_month', '2026-03-31T12:00:00Z')).toEqual(['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']);
  });
});

describe('weeks start on Sunday', () => {
  it.each<[string, string, string]>([
    ['2026-05-16T23:59:59.999Z', '2026-05-10T00:00:00.000Z', 'Saturday: the week began 6 days earlier'],
    ['2026-05-17T00:00:00.000Z', '2026-05-17T00:00:00.000Z', 'Sunday: the week begins today'],
    ['2026-05-18T08:00:00.000Z', '2026-05-17T00:00:00.000Z', 'Monday: the week began yesterday'],
  ])('this_week at %s starts %s (%s)', (now, start) => {
    const [s, e] = range('this_week', now);
    expect(s).toBe(start);
    expect(new Date(e!).getTime() - new Date(s!).getTime()).toBe(7 * 24 * 3600 * 1000);
    expect(new Date(s!).getUTCDay()).toBe(0);
  });
});

describe('resolveTimeframe in a decimal offset', () => {
  const plus1030 = parseTimezone(10.5);
  const minus8 = parseTimezone(-8);

  it.each<[unknown, string, string]>([
    // now is 2026-05-14T02:12:17.123+10:30, a Thursday
    ['this_minute', '2026-05-13T15:42:00.000Z', '2026-05-13T15:43:00.000Z'],
    ['this_hour', '2026-05-13T15:30:00.000Z', '2026-05-13T16:30:00.000Z'],
    ['last_hour', '2026-05-13T14:30:00.000Z', '2026-05-13T15:30:00.000Z'],
    ['today', '2026-05-13T13:30:00.000Z', '2026-05-14T13:30:00.000Z'],
    ['yesterday', '2026-05-12T13:30:00.000Z', '2026-05-13T13:30:00.000Z'],
    ['this_week', '2026-05-09T13:30:00.000Z', '2026-05-16T13:30:00.000Z'],
    ['last_week', '2026-05-02T13:30:00.000Z', '2026-05-09T13:30:00.000Z'],
    ['this_month', '2026-04-30T13:30:00.000Z', '2026-05-31T13:30:00.000Z'],
    ['last_month', '2026-03-31T13:30:00.000Z', '2026-04-30T13:30:00.000Z'],
    ['this_quarter', '2026-03-31T13:30:00.000Z', '2026-06-30T13:30:00.000Z'],
    ['this_year', '2025-12-31T13:30:00.000Z', '2026-12-31T13:30:00.000Z'],
    [{ current: { days: 3 } }, '2026-05-11T13:30:00.000Z', '2026-05-14T13:30:00.000Z'],
  ])('+10.5: %j', (value, start, end) => {
    expect(range(value, NOW, plus1030)).toEqual([start, end]);
  });

  it.each<[unknown, string, string]>([
    // now is 2026-05-13T07:42:17.123-08:00, a Wednesday
    ['this_hour', '2026-05-13T15:00:00.000Z', '2026-05-13T16:00:00.000Z'],
    ['today', '2026-05-13T08:00:00.000Z', '2026-05-14T08:00:00.000Z'],
    ['yesterday', '2026-05-12T08:00:00.000Z', '2026-05-13T08:00:00.000Z'],
    ['this_week', '2026-05-10T08:00:00.000Z', '2026-05-17T08:00:00.000Z'],
    ['this_month', '2026-05-01T08:00:00.000Z', '2026-06-01T08:00:00.000Z'],
    ['last_year', '2025-01-01T08:00:00.000Z', '2026-01-01T08:00:00.000Z'],
    [{ previous: { days: 2 } }, '2026-05-11T08:00:00.000Z', '2026-05-13T08:00:00.000Z'],
  ])('-8: %j', (value, start, end) => {
    expect(range(value, NOW, minus8)).toEqual([start, end]);
  });

  it('-8: "today" follows the local date when it differs from the UTC date', () => {
    // 03:00Z on the 13th is 19:00 on the 12th at -08:00
    expect(range('today', '2026-05-13T03:00:00Z', minus8)).toEqual(['2026-05-12T08:00:00.000Z', '2026-05-13T08:00:00.000Z']);
  });
});

describe('resolveTimeframe in America/New_York across DST', () => {
  const ny = parseTimezone('America/New_York');

  describe('spring forward, Sunday 2026-03-08 (02:00 EST → 03:00 EDT)', () => {
    const now = '2026-03-08T15:00:00Z'; // 11:00 EDT

    it('today is 23 hours long', () => {
      expect(range('today', now, ny)).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']);
    });
    it('yesterday is a normal EST day', () => {
      expect(range('yesterday', now, ny)).toEqual(['2026-03-07T05:00:00.000Z', '2026-03-08T05:00:00.000Z']);
    });
    it('this_week starts on the DST Sunday itself and ends the next Sunday in EDT', () => {
      expect(range('this_week', now, ny)).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-15T04:00:00.000Z']);
      expect(range('last_week', now, ny)).toEqual(['2026-03-01T05:00:00.000Z', '2026-03-08T05:00:00.000Z']);
    });
    it('this_month spans both offsets', () => {
      expect(range('this_month', now, ny)).toEqual(['2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z']);
    });
    it('a days step from the next day lands on the DST day midnight (EST)', () => {
      const monday = '2026-03-09T12:00:00Z'; // 08:00 EDT
      expect(range({ current: { days: 2 } }, monday, ny)).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-10T04:00:00.000Z']);
      expect(range({ previous: { days: 1 } }, monday, ny)).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']);
    });
    it('hours are elapsed hours across the gap', () => {
      const at0330 = '2026-03-08T07:30:00Z'; // 03:30 EDT, right after the gap
      expect(range('this_hour', at0330, ny)).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']);
      expect(range({ previous: { hours: 2 } }, at0330, ny)).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-08T07:00:00.000Z']);
    });
  });

  describe('fall back, Sunday 2026-11-01 (02:00 EDT → 01:00 EST)', () => {
    const now = '2026-11-01T17:00:00Z'; // 12:00 EST

    it('today is 25 hours long', () => {
      expect(range('today', now, ny)).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z']);
    });
    it('yesterday from the next day is the 25-hour day', () => {
      expect(range('yesterday', '2026-11-02T12:00:00Z', ny)).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z']);
    });
    it('weeks start on the Sunday midnight in the offset of that midnight', () => {
      expect(range('this_week', now, ny)).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-08T05:00:00.000Z']);
      expect(range('last_week', now, ny)).toEqual(['2026-10-25T04:00:00.000Z', '2026-11-01T04:00:00.000Z']);
    });
    it('the repeated 01:00 hour is resolved in the offset in force at `now`', () => {
      expect(range('this_hour', '2026-11-01T05:30:00Z', ny)).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z']); // 01:30 EDT
      expect(range('this_hour', '2026-11-01T06:30:00Z', ny)).toEqual(['2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z']); // 01:30 EST
      expect(range('last_hour', '2026-11-01T06:30:00Z', ny)).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z']);
    });
  });
});

describe('resolveTimeframe in Australia/Sydney across DST', () => {
  const sydney = parseTimezone('Australia/Sydney');

  describe('DST ends, Sunday 2026-04-05 (03:00 AEDT → 02:00 AEST)', () => {
    const now = '2026-04-05T03:00:00Z'; // 13:00 AEST

    it('today is 25 hours long', () => {
      expect(range('today', now, sydney)).toEqual(['2026-04-04T13:00:00.000Z', '2026-04-05T14:00:00.000Z']);
    });
    it('this_week starts on that Sunday', () => {
      expect(range('this_week', now, sydney)).toEqual(['2026-04-04T13:00:00.000Z', '2026-04-11T14:00:00.000Z']);
    });
    it('this_month starts in AEDT and ends in AEST', () => {
      expect(range('this_month', now, sydney)).toEqual(['2026-03-31T13:00:00.000Z', '2026-04-30T14:00:00.000Z']);
    });
  });

  describe('DST starts, Sunday 2026-10-04 (02:00 AEST → 03:00 AEDT)', () => {
    const now = '2026-10-04T03:00:00Z'; // 14:00 AEDT

    it('today is 23 hours long', () => {
      expect(range('today', now, sydney)).toEqual(['2026-10-03T14:00:00.000Z', '2026-10-04T13:00:00.000Z']);
    });
    it('yesterday is a normal AEST day', () => {
      expect(range('yesterday', now, sydney)).toEqual(['2026-10-02T14:00:00.000Z', '2026-10-03T14:00:00.000Z']);
    });
    it('last_week ends at the DST Sunday midnight (AEST)', () => {
      expect(range({ previous: { weeks: 1 } }, now, sydney)).toEqual(['2026-09-26T14:00:00.000Z', '2026-10-03T14:00:00.000Z']);
    });
    it('this_quarter starts in AEST and ends in AEDT', () => {
      expect(range('this_quarter', now, sydney)).toEqual(['2026-09-30T14:00:00.000Z', '2026-12-31T13:00:00.000Z']);
    });
  });
});

describe('resolveTimeframe with an absolute timeframe', () => {
  it.each<[string, string]>([
    ['2015-02-01T00:00:00.000Z', '2015-02-01T00:00:00.000Z'], // JS SDK
    ['2015-02-01T00:00:00Z', '2015-02-01T00:00:00.000Z'], // .NET SDK
    ['2015-02-01T10:00:00+10:00', '2015-02-01T00:00:00.000Z'], // Swift SDK
    ['2015-02-01T10:00:00+1000', '2015-02-01T00:00:00.000Z'], // PHP DATE_ISO8601
    ['2015-02-01T10:00:00+10', '2015-02-01T00:00:00.000Z'],
    ['2015-01-31T19:30:00.250-04:30', '2015-02-01T00:00:00.250Z'],
    ['2015-02-01T00:00:00', '2015-02-01T00:00:00.000Z'], // no offset = UTC
    ['2015-02-01T00:00:00.123', '2015-02-01T00:00:00.123Z'],
    ['2015-02-01T00:00', '2015-02-01T00:00:00.000Z'],
    ['2015-02-01', '2015-02-01T00:00:00.000Z'],
  ])('parses %s', (iso, utc) => {
    expect(range({ start: iso }, NOW)).toEqual([utc, null]);
    expect(range({ end: iso }, NOW)).toEqual([null, utc]);
  });

  it("reads a bound without offset as UTC whatever the server's zone", () => {
    const serverZone = Settings.defaultZone;
    Settings.defaultZone = 'Asia/Kolkata';
    try {
      expect(range({ start: '2015-02-01T00:00:00', end: '2015-02-02' }, NOW)).toEqual([
        '2015-02-01T00:00:00.000Z',
        '2015-02-02T00:00:00.000Z',
      ]);
      expect(range('today', NOW)).toEqual(['2026-05-13T00:00:00.000Z', '2026-05-14T00:00:00.000Z']);
    } finally {
      Settings.defaultZone = serverZone;
    }
  });

  it('returns both bounds (docs example) and ignores the query timezone', () => {
    const value = { start: '2015-02-01T00:00:00.000Z', end: '2015-02-25T00:00:00.000Z' };
    expect(range(value, NOW, parseTimezone('Australia/Brisbane'))).toEqual(['2015-02-01T00:00:00.000Z', '2015-02-25T00:00:00.000Z']);
  });

  it('treats "" and null as an absent bound (Swift SDK sends "")', () => {
    expect(range({ start: '', end: '2015-02-25T00:00:00Z' }, NOW)).toEqual([null, '2015-02-25T00:00:00.000Z']);
    // The Swift SDK sends both bounds as "" for "no custom timeframe": all time.
    expect(range({ start: '', end: '' }, NOW)).toEqual([null, null]);
    expect(range({ start: '', end: null }, NOW)).toEqual([null, null]);
    expect(range({ start: '2015-02-01T00:00:00Z', end: null }, NOW)).toEqual(['2015-02-01T00:00:00.000Z', null]);
  });

  it('accepts start equal to end (an empty range)', () => {
    expect(range({ start: '2015-07-01T00:00:00Z', end: '2015-07-01T00:00:00Z' }, NOW)).toEqual([
      '2015-07-01T00:00:00.000Z',
      '2015-07-01T00:00:00.000Z',
    ]);
  });
});

describe('resolveTimeframe errors (422)', () => {
  it.each<[string, unknown]>([
    ['unknown name', 'last_decade'],
    ['empty string', ''],
    ['number', 5],
    ['boolean', true],
    ['array', ['today']],
    ['empty object', {}],
    ['unknown key', { last: { days: 1 } }],
    ['both directions', { current: { days: 1 }, previous: { days: 1 } }],
    ['direction not an object', { current: 3 }],
    ['unknown unit', { current: { fortnights: 1 } }],
    ['singular unit', { previous: { day: 1 } }],
    ['several units', { current: { days: 1, hours: 2 } }],
    ['no unit', { current: {} }],
    ['zero', { previous: { days: 0 } }],
    ['negative', { previous: { days: -2 } }],
    ['fraction', { previous: { days: 1.5 } }],
    ['numeric string count', { previous: { days: '3' } }],
    ['null count', { previous: { days: null } }],
    ['beyond year 1', { previous: { years: 5000 } }],
    ['huge count', { previous: { minutes: Number.MAX_SAFE_INTEGER } }],
    ['relative and absolute keys mixed', { current: { days: 1 }, start: '2015-01-01T00:00:00Z' }],
    ['no bound', {}],
  ])('%s → field "timeframe"', (_label, value) => {
    const errors = errorsOf(() => resolveTimeframe(value, null, new Date(NOW)));
    expect(errors.map((e) => e.field)).toEqual(['timeframe']);
    expect(errors[0].description).toMatch(/Expected a named timeframe \(this_minute, .*"previous": \{"<unit>": N\}.*"start"/);
  });

  it('names the offending unit and count', () => {
    expect(errorsOf(() => resolveTimeframe({ current: { fortnights: 1 } }, null, new Date(NOW)))[0].description).toContain(
      "Unknown timeframe unit 'fortnights'",
    );
    expect(errorsOf(() => resolveTimeframe({ current: { days: 0 } }, null, new Date(NOW)))[0].description).toContain(
      'The number of days must be a positive integer, not 0',
    );
  });

  it.each<[string]>([
    ['not a date'],
    ['2015-02-30T00:00:00Z'], // no 30 February
    ['2015-02-01T25:00:00Z'],
    ['2015-02-01 00:00:00Z'], // space separator
    ['2015-02-01T00:00:00+25:00'], // offset out of range
    ['10:00'], // time only
    ['1425168000000'],
    ['2015-02-01T00:00:00ZZ'],
  ])('invalid start %j → field "timeframe.start"', (start) => {
    expect(errorsOf(() => resolveTimeframe({ start }, null, new Date(NOW)))).toEqual([
      { field: 'timeframe.start', description: expect.stringContaining('ISO-8601') },
    ]);
  });

  it('reports both bad bounds at once, and a non-string bound', () => {
    expect(errorsOf(() => resolveTimeframe({ start: 'x', end: 1425168000000 }, null, new Date(NOW))).map((e) => e.field)).toEqual([
      'timeframe.start',
      'timeframe.end',
    ]);
  });

  it('rejects unexpected keys beside start/end', () => {
    const errors = errorsOf(() => resolveTimeframe({ start: '2015-01-01T00:00:00Z', finish: 'x' }, null, new Date(NOW)));
    expect(errors).toEqual([{ field: 'timeframe', description: expect.stringContaining("Unexpected timeframe keys 'finish'") }]);
  });

  it('rejects start after end', () => {
    const errors = errorsOf(() => resolveTimeframe({ start: '2015-02-02T00:00:00Z', end: '2015-02-01T00:00:00Z' }, null, new Date(NOW)));
    expect(errors).toEqual([{ field: 'timeframe', description: 'The timeframe start must not be after its end.' }]);
  });
});

describe('timeframeKind', () => {
  it.each<[unknown, string | null]>([
    ['today', 'relative'],
    ['nonsense', 'relative'],
    [{ current: { days: 1 } }, 'relative'],
    [{ previous: { months: 2 } }, 'relative'],
    [{ start: '2015-01-01T00:00:00Z' }, 'absolute'],
    [{ end: '' }, 'absolute'],
    [undefined, null],
    [null, null],
    [{}, null],
    [5, null],
  ])('%j → %s', (value, kind) => {
    expect(timeframeKind(value)).toBe(kind);
  });
});
