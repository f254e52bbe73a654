import { DateTime } from 'luxon';
import { parseIsoInstant } from './iso-instant';

describe('parseIsoInstant', () => {
  it.each([
    ['2015-02-05T14:55:56.587Z', '2015-02-05T14:55:56.587Z'],
    ['2015-02-05T14:55:56.5Z', '2015-02-05T14:55:56.500Z'],
    ['2015-07-01T04:07:57Z', '2015-07-01T04:07:57.000Z'],
    ['2016-02-29T23:59:59.999Z', '2016-02-29T23:59:59.999Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0099-06-01T00:00:00Z', '0099-06-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['2015-07-01T14:07:57+10:00', '2015-07-01T04:07:57.000Z'],
    ['2015-07-01T04:07:57+0000', '2015-07-01T04:07:57.000Z'],
    ['2015-08-01T00:00:00', '2015-08-01T00:00:00.000Z'],
    ['2015-08-01T00:00:00.123456Z', '2015-08-01T00:00:00.123Z'],
  ])('parses %s as %s', (text, iso) => {
    expect(parseIsoInstant(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2015-02-30T00:00:00Z',
    '2015-02-29T00:00:00.000Z',
    '2015-01-01T24:00:00Z',
    '2015-01-01T00:60:00Z',
    '2015-13-01T00:00:00Z',
    '2015-01-01 00:00:00Z',
    'yesterday',
    '',
    '2015-01-01T00:00:00+24:00',
  ])('refuses %j', (text) => {
    expect(parseIsoInstant(text)).toBeNull();
  });

  it('agrees with luxon on the fast path for a sweep of UTC instants', () => {
    for (let t = Date.UTC(1999, 11, 31, 23, 59, 59, 999); t < Date.UTC(2001, 0, 2); t += 7_777_777) {
      const text = new Date(t).toISOString();
      expect(parseIsoInstant(text)?.getTime()).toBe(DateTime.fromISO(text, { zone: 'utc' }).toMillis());
    }
  });
});
