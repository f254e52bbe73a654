import { DateTime } from 'luxon';
import { ValidationError } from '../common';
import { parseTimezone, toLuxonZone } from './timezone';

function fieldsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.errors.map((e) => e.field);
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parseTimezone', () => {
  it.each<[number, number]>([
    [10, 600],
    [-8, -480],
    [-5, -300],
    [10.5, 630],
    [5.75, 345],
    [0, 0],
    [-0, 0],
    [-12, -720],
    [14, 840],
  ])('reads the number %d as %d minutes east of UTC', (hours, minutes) => {
    expect(parseTimezone(hours)).toEqual({ kind: 'offset', minutes, input: hours });
  });

  it('reads a numeric string as decimal hours', () => {
    expect(parseTimezone('10.5')).toEqual({ kind: 'offset', minutes: 630, input: 10.5 });
    expect(parseTimezone('-8')).toEqual({ kind: 'offset', minutes: -480, input: -8 });
    expect(parseTimezone('+5')).toEqual({ kind: 'offset', minutes: 300, input: 5 });
  });

  it.each(['Australia/Brisbane', 'America/New_York', 'Asia/Tokyo', 'UTC', 'Etc/GMT+5'])('accepts the IANA zone %s', (name) => {
    expect(parseTimezone(name)).toEqual({ kind: 'iana', name, input: name });
  });

  it.each<[string, unknown]>([
    ['not IANA (sent by the .NET tests)', 'Japan/Tokyo'],
    ['empty string', ''],
    ['an offset string', '+10:00'],
    ['a negative offset string (a time zone to Node 24 Intl)', '-08:00'],
    ['an offset string with a minus sign (U+2212)', '\u221205:30'],
    ['too far west', -12.5],
    ['too far east', 14.5],
    ['not whole minutes', 10.01],
    ['a numeric string out of range', '15'],
    ['NaN (JSON5)', NaN],
    ['Infinity (JSON5)', Infinity],
    ['boolean', true],
    ['object', { zone: 'UTC' }],
    ['array', [10]],
  ])('rejects %s with field "timezone"', (_label, value) => {
    expect(fieldsOf(() => parseTimezone(value))).toEqual(['timezone']);
  });

  it('names the unknown zone in the description', () => {
    expect(() => parseTimezone('Japan/Tokyo')).toThrow("Unknown time zone 'Japan/Tokyo'");
  });
});

describe('toLuxonZone', () => {
  const instant = DateTime.fromISO('2026-01-15T12:00:00Z');

  it('gives UTC for null', () => {
    expect(instant.setZone(toLuxonZone(null)).offset).toBe(0);
  });
  it('gives a fixed offset for decimal hours', () => {
    expect(instant.setZone(toLuxonZone(parseTimezone(10.5))).offset).toBe(630);
    expect(instant.setZone(toLuxonZone(parseTimezone(-8))).offset).toBe(-480);
  });
  it('gives the IANA zone, with its DST rules', () => {
    const zone = toLuxonZone(parseTimezone('Australia/Sydney'));
    expect(instant.setZone(zone).offset).toBe(660); // January: AEDT
    expect(DateTime.fromISO('2026-07-15T12:00:00Z').setZone(zone).offset).toBe(600); // July: AEST
  });
});
