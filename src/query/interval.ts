import { DateTime, Zone } from 'luxon';
import { TooManyResultsError, ValidationError } from '../common';
import { isAbsent, jsonTypeName, quoteForMessage } from './json-guards';
import { IntervalName, ResolvedTimeframe } from './query.types';
import { RelativeUnit, startOfUnit } from './timeframe';

/** Each interval and the calendar unit of its buckets (Connect docs, "Intervals"). */
export const INTERVAL_UNITS: ReadonlyMap<IntervalName, RelativeUnit> = new Map<IntervalName, RelativeUnit>([
  ['minutely', 'minutes'],
  ['hourly', 'hours'],
  ['daily', 'days'],
  ['weekly', 'weeks'],
  ['monthly', 'months'],
  ['quarterly', 'quarters'],
  ['yearly', 'years'],
]);

/** Units that are a fixed number of elapsed milliseconds long, except where the zone's offset changes. */
const ELAPSED_UNIT_MS: Partial<Record<RelativeUnit, number>> = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 };

export const INTERVAL_NEEDS_TIMEFRAME_DESCRIPTION =
  'An interval needs a timeframe with a start and an end: a relative timeframe such as "this_month" or ' +
  '{"previous": {"days": 7}}, or {"start": "<ISO-8601>", "end": "<ISO-8601>"}.';

/**
 * Parses the query's `interval` (Connect docs, "Intervals"). Names are case-insensitive, like named timeframes.
 * @returns the canonical (lower-case) name; null when absent, `null` or `""` (not bucketed).
 * @throws ValidationError (field `interval`) for any other value.
 */
export function parseInterval(value: unknown): IntervalName | null {
  if (isAbsent(value) || value === '') return null;
  const expected = `expected one of ${[...INTERVAL_UNITS.keys()].join(', ')}`;
  if (typeof value !== 'string')
    throw ValidationError.of('interval', `The interval must be a string, not ${jsonTypeName(value)}; ${expected}.`);
  const name = [...INTERVAL_UNITS.keys()].find((n) => n === value.toLowerCase());
  if (!name) throw ValidationError.of('interval', `Unknown interval ${quoteForMessage(value)}; ${expected}.`);
  return name;
}

/** A bucket boundary: a UTC instant and the query zone's offset there, in minutes east of UTC. */
export interface IntervalBoundary {
  epochMs: number;
  offsetMinutes: number;
}

/**
 * The bucket boundaries of `interval` over a bounded timeframe (Connect docs, "Intervals"): `[start, b1, …, end]`,
 * bucket i is `[b[i], b[i+1])`. Each boundary carries the zone's offset at that instant, for rendering.
 *
 * Inner boundaries are the starts of calendar units in `zone`, computed by `startOfUnit`, the same code
 * that resolves relative timeframes, so `this_month` + `daily` tiles exactly. Days and longer are
 * calendar steps: a DST day is one 23- or 25-hour bucket; weeks start on Sunday. Hours and minutes are
 * local hour and minute starts: across a DST change an hour is simply the next elapsed hour (23 or 25
 * hourly buckets per DST day). The first and last buckets are clipped to the timeframe, so no bucket
 * starts before its start or extends past its end.
 *
 * Minutes, hours and days step by elapsed time and use luxon only where the zone's offset changes:
 * luxon's calendar arithmetic in an IANA zone costs 30 µs or more per step, so a 10,000-bucket minutely
 * query would spend 0.3 s on it (interval.spec.ts checks that both paths give the same boundaries).
 *
 * @param timeframe the resolved timeframe; both bounds must be set (`parseAggregationQuery` guarantees it).
 * @returns `[]` when start >= end (no time, no bucket).
 * @throws TooManyResultsError (413) when there are more than `maxBuckets` buckets (checked while
 *   generating, so a huge range costs at most `maxBuckets + 1` steps);
 *   Error when a bound is missing (a programming error).
 */
export function intervalBoundaries(
  timeframe: ResolvedTimeframe | null,
  interval: IntervalName,
  zone: Zone,
  maxBuckets: number,
): IntervalBoundary[] {
  if (!timeframe?.start || !timeframe.end) throw new Error('intervalBoundaries needs a bounded timeframe');
  const startMs = timeframe.start.getTime();
  const endMs = timeframe.end.getTime();
  if (startMs >= endMs) return [];
  const unit = INTERVAL_UNITS.get(interval)!;
  const next = nextBoundaryFunction(unit, zone);
  const boundaries = [{ epochMs: startMs, offsetMinutes: zone.offset(startMs) }];
  let cursor = boundaryOf(startOfUnit(DateTime.fromMillis(startMs, { zone }), unit));
  for (;;) {
    cursor = next(cursor);
    if (cursor.epochMs >= endMs) break;
    boundaries.push(cursor);
    if (boundaries.length > maxBuckets) {
      throw new TooManyResultsError(
        `The interval splits the timeframe into more than ${maxBuckets.toLocaleString('en-US')} buckets; ` +
          'use a longer interval or a shorter timeframe.',
      );
    }
  }
  boundaries.push({ epochMs: endMs, offsetMinutes: zone.offset(endMs) });
  return boundaries;
}

function boundaryOf(dt: DateTime): IntervalBoundary {
  return { epochMs: dt.toMillis(), offsetMinutes: dt.offset };
}

/**
 * The function from one unit start to the next, in `zone`: the first instant after it whose local time
 * is the start of a unit. The calendar step is `startOfUnit(t + k units)` for the smallest k that
 * advances: re-aligning each time keeps days at midnight even after a day whose midnight did not exist
 * (luxon then starts the day at 01:00), and k = 2 is needed only where a fall back repeats part of an
 * hour (Lord Howe: 01:00 at +11:00 is followed by 02:00 at +10:30, 90 minutes later).
 */
function nextBoundaryFunction(unit: RelativeUnit, zone: Zone): (cursor: IntervalBoundary) => IntervalBoundary {
  const calendarStep = (cursor: IntervalBoundary): IntervalBoundary => {
    for (let units = 1; ; units++) {
      const next = startOfUnit(DateTime.fromMillis(cursor.epochMs, { zone }).plus({ [unit]: units }), unit);
      if (next.toMillis() > cursor.epochMs) return boundaryOf(next);
    }
  };
  const elapsed = ELAPSED_UNIT_MS[unit];
  if (elapsed === undefined) return calendarStep;
  return (cursor) => {
    // While the offset holds, the next local minute, hour or day start is one unit of elapsed time later.
    // The alignment check catches a cursor that is not one (luxon starts an hour missing in a DST gap at
    // its first existing minute, e.g. 02:30 on Lord Howe's spring-forward day); the calendar step re-aligns.
    const epochMs = cursor.epochMs + elapsed;
    const offsetMinutes = zone.offset(epochMs);
    const localMs = epochMs + offsetMinutes * 60_000;
    if (offsetMinutes !== cursor.offsetMinutes || ((localMs % elapsed) + elapsed) % elapsed !== 0) return calendarStep(cursor);
    return { epochMs, offsetMinutes };
  };
}

/**
 * A boundary as ISO-8601 with the query timezone's offset at that instant: `2015-02-01T00:00:00+10:30`,
 * `2015-03-08T00:00:00-05:00`, and `+00:00` (not `Z`) for UTC, as production Connect answered
 * (Connect docs, "Query results"). Milliseconds appear only when not zero (a clipped bucket of an absolute timeframe).
 * Offsets in seconds (local mean time, before ~1900) are written as ±HH:MM cut down, as luxon does.
 */
export function formatIntervalInstant({ epochMs, offsetMinutes }: IntervalBoundary): string {
  const local = new Date(epochMs + Math.round(offsetMinutes * 60_000)).toISOString().slice(0, -1); // no "Z"
  const time = local.endsWith('.000') ? local.slice(0, -4) : local;
  const abs = Math.abs(offsetMinutes);
  const pad = (n: number): string => String(Math.trunc(n)).padStart(2, '0');
  return `${time}${offsetMinutes < 0 ? '-' : '+'}${pad(abs / 60)}:${pad(abs % 60)}`;
}
