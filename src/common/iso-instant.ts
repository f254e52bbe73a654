import { DateTime } from 'luxon';

/**
 * Parses an ISO-8601 date-time into a UTC instant with millisecond precision. Accepts every form
 * Connect's SDKs send (connect-api.md §3.3): `Z`, `+10:00`, `+1000`, or no offset (taken as UTC),
 * with or without fractional seconds (rounded down to milliseconds).
 * @returns null when the text is not an ISO-8601 date-time or its year is outside 1–9999.
 */
export function parseIsoInstant(text: string): Date | null {
  const parsed = DateTime.fromISO(text, { zone: 'utc' });
  if (!parsed.isValid || parsed.year < 1 || parsed.year > 9999) {
    return null;
  }
  return parsed.toJSDate();
}
