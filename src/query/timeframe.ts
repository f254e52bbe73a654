import { DateTime, DurationLikeObject, Zone } from 'luxon';
import { FieldError, ISO_INSTANT_DESCRIPTION, MAX_INSTANT_MS, MIN_INSTANT_MS, parseIsoInstant, ValidationError } from '../common';
import { describeValue, isPlainObject, jsonTypeName, quoteForMessage } from './json-guards';
import { QueryTimezone, ResolvedTimeframe } from './query.types';
import { toLuxonZone } from './timezone';

/** Units of the relative object form (Connect docs, "Timeframes"). */
export const RELATIVE_UNITS = ['minutes', 'hours', 'days', 'weeks', 'months', 'quarters', 'years'] as const;
export type RelativeUnit = (typeof RELATIVE_UNITS)[number];

/** `current` N = the current (partial) unit plus the N−1 before it; `previous` N = the N whole units before it. */
export type RelativeDirection = 'current' | 'previous';

/** A relative timeframe in canonical form: `this_week` → `{direction: 'current', unit: 'weeks', count: 1}`. */
export interface RelativeTimeframe {
  direction: RelativeDirection;
  unit: RelativeUnit;
  count: number;
}

/** Whether a timeframe value is relative (named string or current/previous) or absolute (start/end). */
export type TimeframeKind = 'relative' | 'absolute';

/** The named timeframes and the relative timeframe each one stands for (Connect docs, "Timeframes" form 1). */
export const NAMED_TIMEFRAMES: ReadonlyMap<string, RelativeTimeframe> = new Map<string, RelativeTimeframe>([
  ['this_minute', { direction: 'current', unit: 'minutes', count: 1 }],
  ['last_minute', { direction: 'previous', unit: 'minutes', count: 1 }],
  ['this_hour', { direction: 'current', unit: 'hours', count: 1 }],
  ['last_hour', { direction: 'previous', unit: 'hours', count: 1 }],
  ['today', { direction: 'current', unit: 'days', count: 1 }],
  ['yesterday', { direction: 'previous', unit: 'days', count: 1 }],
  ['this_week', { direction: 'current', unit: 'weeks', count: 1 }],
  ['last_week', { direction: 'previous', unit: 'weeks', count: 1 }],
  ['this_month', { direction: 'current', unit: 'months', count: 1 }],
  ['last_month', { direction: 'previous', unit: 'months', count: 1 }],
  ['this_quarter', { direction: 'current', unit: 'quarters', count: 1 }],
  ['last_quarter', { direction: 'previous', unit: 'quarters', count: 1 }],
  ['this_year', { direction: 'current', unit: 'years', count: 1 }],
  ['last_year', { direction: 'previous', unit: 'years', count: 1 }],
]);

/** luxon's name for each relative unit (weeks are handled separately: Connect weeks start on Sunday). */
const LUXON_UNIT = {
  minutes: 'minute',
  hours: 'hour',
  days: 'day',
  weeks: 'week',
  months: 'month',
  quarters: 'quarter',
  years: 'year',
} as const;

const FORMS_DESCRIPTION =
  `a named timeframe (${[...NAMED_TIMEFRAMES.keys()].join(', ')}), ` +
  '{"current": {"<unit>": N}}, {"previous": {"<unit>": N}} ' +
  `(unit one of ${RELATIVE_UNITS.join(', ')}; N a positive integer), ` +
  'or {"start": "<ISO-8601>", "end": "<ISO-8601>"}';

/**
 * Tells which form a `timeframe` value has, without validating it fully (Connect docs, "Timeframes", used for
 * the timezone rule of Connect docs, "Timezones"): a string or an object with `current`/`previous` → 'relative'; an object
 * with `start`/`end` → 'absolute'; anything else (absent, null, other types or keys) → null.
 */
export function timeframeKind(value: unknown): TimeframeKind | null {
  if (typeof value === 'string') return 'relative';
  if (!isPlainObject(value)) return null;
  if ('current' in value || 'previous' in value) return 'relative';
  if ('start' in value || 'end' in value) return 'absolute';
  return null;
}

/**
 * Resolves a `timeframe` value (Connect docs, "Timeframes") to absolute UTC instants, `start <= t < end`.
 *
 * - Named string (`today`, `last_week`, …; case-insensitive) or `{"current"|"previous": {"<unit>": N}}`:
 *   computed from `now` on the calendar of `timezone` (UTC when null), DST-aware; weeks start on Sunday.
 *   `current` N = start of the (N−1)th unit before the current one → start of the next unit;
 *   `previous` N = start of the Nth unit before the current one → start of the current unit.
 * - `{"start": ISO, "end": ISO}`: either bound may be absent, null or "" (open range), not both.
 *   Bounds without an offset are UTC; `timezone` is ignored. `start` must not be after `end`.
 *
 * @param value the raw `timeframe` of the query document (the caller handles absence).
 * @param timezone the parsed query timezone, or null for UTC.
 * @param now the current instant (injected for testability).
 * @throws ValidationError, field `timeframe` for an unknown form, name, unit, several units or a bad N;
 *   `timeframe.start` / `timeframe.end` for an invalid bound; all problems are collected.
 */
export function resolveTimeframe(value: unknown, timezone: QueryTimezone | null, now: Date): ResolvedTimeframe {
  if (timeframeKind(value) === 'absolute') return resolveAbsolute(value as Record<string, unknown>);
  return resolveRelative(parseRelativeTimeframe(value), toLuxonZone(timezone), now);
}

/**
 * Validates a relative timeframe (named string or current/previous object) into canonical form.
 * @throws ValidationError (field `timeframe`) for anything else.
 */
export function parseRelativeTimeframe(value: unknown): RelativeTimeframe {
  if (typeof value === 'string') {
    const named = NAMED_TIMEFRAMES.get(value.toLowerCase());
    if (named) return { ...named };
    throw timeframeError(`Unknown timeframe ${quoteForMessage(value)}`);
  }
  if (!isPlainObject(value)) throw timeframeError(`A timeframe cannot be ${jsonTypeName(value)}`);
  const keys = Object.keys(value);
  const direction = keys[0];
  if (keys.length !== 1 || (direction !== 'current' && direction !== 'previous')) {
    throw timeframeError(`Unexpected timeframe keys ${keys.map((k) => quoteForMessage(k)).join(', ') || '(none)'}`);
  }
  return { direction, ...parseUnitCount(value[direction], direction) };
}

/** Parses the `{"<unit>": N}` part of a relative object. */
function parseUnitCount(value: unknown, direction: RelativeDirection): { unit: RelativeUnit; count: number } {
  const shape = `"${direction}" must be an object with exactly one unit`;
  if (!isPlainObject(value)) throw timeframeError(`${shape}, not ${jsonTypeName(value)}`);
  const keys = Object.keys(value);
  if (keys.length !== 1) throw timeframeError(`${shape}, got ${keys.length}`);
  const unit = RELATIVE_UNITS.find((u) => u === keys[0]);
  if (!unit) throw timeframeError(`Unknown timeframe unit ${quoteForMessage(keys[0])}`);
  const count = value[unit];
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
    throw timeframeError(`The number of ${unit} must be a positive integer, not ${describeValue(count)}`);
  }
  return { unit, count };
}

/**
 * The start of the calendar unit containing `dt`, in `dt`'s zone. Weeks start on Sunday
 * (Connect docs, "Timeframes"), unlike luxon's ISO weeks which start on Monday.
 */
export function startOfUnit(dt: DateTime, unit: RelativeUnit): DateTime {
  if (unit === 'weeks') {
    const day = dt.startOf('day');
    return day.minus({ days: day.weekday % 7 }); // luxon weekday: Monday = 1 … Sunday = 7
  }
  return dt.startOf(LUXON_UNIT[unit]);
}

/**
 * Resolves a canonical relative timeframe. Calendar units (days and longer) move by calendar steps, so
 * a day is 23 or 25 hours across a DST change; hours and minutes move by elapsed time.
 * @throws ValidationError (field `timeframe`) when the range falls outside years 0001–9999.
 */
export function resolveRelative(rel: RelativeTimeframe, zone: Zone, now: Date): ResolvedTimeframe {
  const currentStart = startOfUnit(DateTime.fromJSDate(now, { zone }), rel.unit);
  const step = (n: number): DurationLikeObject => ({ [rel.unit]: n });
  const [start, end] =
    rel.direction === 'current'
      ? [currentStart.minus(step(rel.count - 1)), currentStart.plus(step(1))]
      : [currentStart.minus(step(rel.count)), currentStart];
  if (!inRange(start) || !inRange(end)) {
    throw timeframeError(`The timeframe reaches outside the years 0001–9999`);
  }
  return { start: start.toJSDate(), end: end.toJSDate() };
}

/** Resolves `{"start", "end"}`; collects the errors of both bounds before throwing. */
function resolveAbsolute(value: Record<string, unknown>): ResolvedTimeframe {
  const errors: FieldError[] = [];
  const unknownKeys = Object.keys(value).filter((k) => k !== 'start' && k !== 'end');
  if (unknownKeys.length > 0) {
    errors.push(timeframeFieldError(`Unexpected timeframe keys ${unknownKeys.map((k) => quoteForMessage(k)).join(', ')}`));
  }
  const start = parseBound(value.start, 'timeframe.start', errors);
  const end = parseBound(value.end, 'timeframe.end', errors);
  // `{"start": "", "end": ""}` is how the Swift SDK says "no timeframe" (Connect docs, "Timeframes"): all time.
  // Only an object naming neither bound is an error.
  if (errors.length === 0 && start === null && end === null && !('start' in value) && !('end' in value)) {
    errors.push(timeframeFieldError('An absolute timeframe needs a start, an end or both'));
  }
  if (errors.length === 0 && start !== null && end !== null && start.getTime() > end.getTime()) {
    errors.push({ field: 'timeframe', description: 'The timeframe start must not be after its end.' });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { start, end };
}

/** One absolute bound: absent, null and "" mean "open"; otherwise an ISO-8601 string (UTC if no offset). */
function parseBound(value: unknown, field: string, errors: FieldError[]): Date | null {
  if (value === undefined || value === null || value === '') return null;
  const invalid = (): null => {
    errors.push({ field, description: `The value must be ${ISO_INSTANT_DESCRIPTION}.` });
    return null;
  };
  const instant = typeof value === 'string' ? parseIsoInstant(value) : null;
  return instant ?? invalid();
}

/** Resolved instants must lie in years 0001–9999; the end of 9999 itself is allowed (`this_year` in 9999). */
function inRange(dt: DateTime): boolean {
  return dt.isValid && dt.toMillis() >= MIN_INSTANT_MS && dt.toMillis() <= MAX_INSTANT_MS;
}

function timeframeFieldError(problem: string): FieldError {
  return { field: 'timeframe', description: `${problem}. Expected ${FORMS_DESCRIPTION}.` };
}

function timeframeError(problem: string): ValidationError {
  return new ValidationError([timeframeFieldError(problem)]);
}
