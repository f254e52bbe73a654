import { DateTime } from 'luxon';

/**
 * The ISO-8601 shapes accepted for event timestamps and timeframe bounds: a date, or a date-time
 * with minutes, optional seconds and fraction, and an optional offset `Z` / `±hh` / `±hh:mm` /
 * `±hhmm` (PHP's `DATE_ISO8601`). Luxon alone would also take `+25:00` or a bare time.
 */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;

/** Instants outside years 0001–9999 (UTC) are refused; the upper limit is exclusive. */
export const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_INSTANT_MS = Date.parse('+010000-01-01T00:00:00.000Z');

/** How to describe the accepted forms in an error message. */
export const ISO_INSTANT_DESCRIPTION =
  'an ISO-8601 date-time such as "2015-02-01T00:00:00Z", "2015-02-01T10:00:00+10:00", ' +
  '"2015-02-01T10:00:00+1000" or "2015-02-01T00:00:00.000" (no offset = UTC)';

/**
 * Parses an ISO-8601 date-time into a UTC instant with millisecond precision. Accepts every form
 * Connect's SDKs send (Connect docs, "Pushing events", "Timeframes"): `Z`, `+10:00`, `+1000`, or no offset (taken as
 * UTC, whatever the server's zone), with or without fractional seconds (cut to milliseconds).
 * @returns null when the text is not such a date-time or falls outside years 0001–9999.
 */
export function parseIsoInstant(text: string): Date | null {
  const fast = parseUtcFast(text);
  if (fast !== undefined) {
    return fast;
  }
  if (!ISO_DATE_TIME.test(text)) {
    return null;
  }
  const parsed = DateTime.fromISO(text, { zone: 'utc' });
  if (!parsed.isValid || parsed.toMillis() < MIN_INSTANT_MS || parsed.toMillis() >= MAX_INSTANT_MS) {
    return null;
  }
  return parsed.toJSDate();
}

/** `2015-02-05T14:55:56.587Z` and `2015-02-05T14:55:56Z`: what toISOString and most SDKs send. */
const UTC_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/;

/**
 * The common case without luxon (about 20 times cheaper; ingest parses one timestamp per event).
 * @returns the instant; null for a date that does not exist (2015-02-30, 24:00); undefined when
 *   the text is not in this shape (or has a year below 100, which Date.UTC reads as 19xx), so the
 *   general parser decides.
 */
function parseUtcFast(text: string): Date | null | undefined {
  const m = UTC_DATE_TIME.exec(text);
  if (!m) {
    return undefined;
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (year < 100) {
    return undefined;
  }
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const date = new Date(time);
  // Date.UTC rolls over (Feb 30 → Mar 2); a date that does not round-trip does not exist.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return null;
  }
  return date;
}
