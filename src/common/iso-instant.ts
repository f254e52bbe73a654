import { DateTime } from 'luxon';

/**
 * The ISO-8601 shapes accepted for event timestamps and timeframe bounds: a date, or a date-time
 * with minutes, optional seconds and fraction, and an optional offset `Z` / `±hh` / `±hh:mm` /
 * `±hhmm` (PHP's `DATE_ISO8601`). Luxon alone would also take `+25:00` or a bare time.
 */
const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;

/** Instants outside years 0001–9999 (UTC) are refused; the upper limit is exclusive. */
export const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_INSTANT_MS = Date.parse('+010000-01-01T00:00:00.000Z');

/** How to describe the accepted forms in an error message. */
export const ISO_INSTANT_DESCRIPTION =
  'an ISO-8601 date-time such as "2015-02-01T00:00:00Z", "2015-02-01T10:00:00+10:00", ' +
  '"2015-02-01T10:00:00+1000" or "2015-02-01T00:00:00.000" (no offset = UTC)';

/**
 * Parses an ISO-8601 date-time into a UTC instant with millisecond precision. Accepts every form
 * Connect's SDKs send (connect-api.md §3.3, §4.5): `Z`, `+10:00`, `+1000`, or no offset (taken as
 * UTC, whatever the server's zone), with or without fractional seconds (cut to milliseconds).
 * @returns null when the text is not such a date-time or falls outside years 0001–9999.
 */
export function parseIsoInstant(text: string): Date | null {
  if (!ISO_DATE_TIME.test(text)) {
    return null;
  }
  const parsed = DateTime.fromISO(text, { zone: 'utc' });
  if (!parsed.isValid || parsed.toMillis() < MIN_INSTANT_MS || parsed.toMillis() >= MAX_INSTANT_MS) {
    return null;
  }
  return parsed.toJSDate();
}
