import { FixedOffsetZone, IANAZone, Zone } from 'luxon';
import { ValidationError } from '../common';
import { jsonTypeName, quoteForMessage } from './json-guards';
import { QueryTimezone } from './query.types';

/** Smallest and largest accepted decimal-hour offsets (the range of real-world UTC offsets). */
export const MIN_OFFSET_HOURS = -12;
export const MAX_OFFSET_HOURS = 14;

/** A decimal number written as a string: "10", "-8", "+5.5", "10.5". */
const NUMERIC_STRING = /^[+-]?\d+(?:\.\d+)?$/;

/**
 * An offset written as a zone ("+10:00", "-0800", "+05"). Node 24's Intl (and so luxon's
 * `isValidZone`) accepts these as time zones, but no IANA name starts with a sign, and PostgreSQL
 * would read "+10:00" as a POSIX zone, ten hours *west* of UTC: they are refused on every Node version.
 */
const OFFSET_STRING = /^[+\-\u2212]/;

const ACCEPTED =
  `expected a number of hours from UTC between ${MIN_OFFSET_HOURS} and ${MAX_OFFSET_HOURS} ` +
  '(e.g. 10, -8 or 10.5) or an IANA time zone name (e.g. "Australia/Brisbane")';

/**
 * Parses the query's `timezone` (Connect docs, "Timezones"). The caller handles absence (`undefined`/`null`)
 * and the "only with an interval or a relative timeframe" rule (event-selection.ts).
 *
 * - number → a fixed offset in decimal hours east of UTC, −12…+14, that is a whole number of
 *   minutes: `10.5` → `{kind: 'offset', minutes: 630, input: 10.5}`; `-8` → −480.
 * - numeric string ("10.5", "-8") → the same fixed offset (`input` is then the parsed number).
 *   Connect documents only numbers, but a numeric string can never be an IANA name, so reading it
 *   as hours is unambiguous and helps clients that stringify every URL value.
 * - other string → an IANA zone name checked with luxon's `IANAZone.isValidZone` (so "UTC",
 *   "Asia/Tokyo" pass, "Japan/Tokyo" and offset strings such as "+10:00" fail): `{kind: 'iana', name, input}`.
 *
 * @throws ValidationError with field `timezone` for any other type, an out-of-range or fractional-minute
 *   offset, or an unknown zone name.
 */
export function parseTimezone(value: unknown): QueryTimezone {
  if (typeof value === 'number') return parseOffsetHours(value);
  if (typeof value === 'string') {
    if (NUMERIC_STRING.test(value)) return parseOffsetHours(Number(value));
    if (!OFFSET_STRING.test(value) && IANAZone.isValidZone(value)) return { kind: 'iana', name: value, input: value };
    throw ValidationError.of('timezone', `Unknown time zone ${quoteForMessage(value)}; ${ACCEPTED}.`);
  }
  throw ValidationError.of('timezone', `The timezone must be a number or a string, not ${jsonTypeName(value)}; ${ACCEPTED}.`);
}

/** Converts decimal hours to a fixed-offset timezone, or throws ValidationError (field `timezone`). */
function parseOffsetHours(hours: number): QueryTimezone {
  if (!Number.isFinite(hours) || hours < MIN_OFFSET_HOURS || hours > MAX_OFFSET_HOURS) {
    throw ValidationError.of('timezone', `The timezone offset ${hours} is out of range; ${ACCEPTED}.`);
  }
  const exactMinutes = hours * 60;
  const minutes = Math.round(exactMinutes);
  if (Math.abs(exactMinutes - minutes) > 1e-9) {
    throw ValidationError.of('timezone', `The timezone offset ${hours} is not a whole number of minutes; ${ACCEPTED}.`);
  }
  return { kind: 'offset', minutes: minutes + 0, input: hours }; // `+ 0` turns -0 into 0
}

/**
 * The luxon Zone for a query timezone: `IANAZone` for names, `FixedOffsetZone` for offsets,
 * UTC when `timezone` is null (Connect's default, Connect docs, "Timezones").
 */
export function toLuxonZone(timezone: QueryTimezone | null): Zone {
  if (timezone === null) return FixedOffsetZone.utcInstance;
  if (timezone.kind === 'iana') return IANAZone.create(timezone.name);
  return FixedOffsetZone.instance(timezone.minutes);
}
