import { FieldError, ValidationError } from '../common';
import { combineFilters, parseFilter } from './filter';
import { isAbsent, isPlainObject } from './json-guards';
import { QueryLimits } from '../config';
import { EventSelection, FilterCondition } from './query.types';
import { resolveTimeframe, timeframeKind } from './timeframe';
import { parseTimezone } from './timezone';

/** Options of `parseEventSelection`. */
export interface EventSelectionOptions {
  /** The instant relative timeframes are resolved against (the request time). */
  now: Date;
  /** Whether the query has an `interval` (parsed elsewhere); it decides whether a timezone is allowed. */
  hasInterval: boolean;
  /** Caps on the filter (LimitsConfig.query, src/config/limits.config.ts); the defaults of config/query-limits.ts when absent. */
  limits?: QueryLimits;
  /**
   * The conditions of the request's filtered key (docs/keys.md), ANDed before the document's own
   * (`combineFilters`) and counted toward `limits.maxFilterConditions` with them; none when absent.
   */
  keyFilters?: readonly FilterCondition[];
}

/** Query keys an export must not carry (Connect docs, "Exporting events": exports take only `filter` and `timeframe`). */
export const EXPORT_FORBIDDEN_KEYS = ['select', 'groupBy', 'interval'] as const;

export const TIMEZONE_RULE_DESCRIPTION =
  'A timezone can only be used with an interval or a relative timeframe; ' +
  'an absolute timeframe carries its own UTC offsets, so it needs an interval to use a timezone.';

/**
 * Parses the event-selecting keys of a query document — `filter`, `timeframe`, `timezone`
 * (Connect docs, "Filters", "Timeframes", "Timezones") — and applies the timezone rule of Connect docs, "Timezones": a timezone is allowed
 * with an interval and/or a relative timeframe; with an absolute timeframe only if an interval is
 * also given; with neither it is an error. `undefined` and `null` mean "not given" for all three.
 * Other keys of `doc` are ignored (they belong to the aggregation parser or are custom options).
 *
 * @returns filters in input order (a filtered key's first), the timeframe as UTC instants (null = all time), the timezone (null = UTC).
 * @throws ValidationError collecting every error of every key (fields `filter…`, `timeframe…`, `timezone`).
 */
export function parseEventSelection(doc: Record<string, unknown>, opts: EventSelectionOptions): EventSelection {
  const errors: FieldError[] = [];
  const keyFilters = opts.keyFilters ?? [];
  const own = collect(errors, () => parseFilter(doc.filter, opts.limits, keyFilters.length)) ?? [];
  const filters = combineFilters(keyFilters, own);
  const timezone = isAbsent(doc.timezone) ? null : collect(errors, () => parseTimezone(doc.timezone));
  const timeframe = isAbsent(doc.timeframe) ? null : collect(errors, () => resolveTimeframe(doc.timeframe, timezone ?? null, opts.now));

  const timeframeValid = timeframe !== undefined;
  if (timezone && timeframeValid && !opts.hasInterval && timeframeKind(doc.timeframe) !== 'relative') {
    errors.push({ field: 'timezone', description: TIMEZONE_RULE_DESCRIPTION });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { filters, timeframe: timeframe ?? null, timezone: timezone ?? null };
}

/**
 * Parses the query document of an export (E6 `GET …/export?query=`, E7 body `query`; Connect docs, "Exporting events"):
 * only `filter`, `timeframe` and `timezone` (with a relative timeframe) are meaningful.
 * `select`, `groupBy` and `interval` are rejected unless empty (`null`, `{}`, `[]`, `""`), because
 * some SDKs always send empty ones; any other unknown top-level key is ignored.
 *
 * @param keyFilters the conditions of the request's filtered key, ANDed with the document's (`EventSelectionOptions.keyFilters`).
 * @throws ValidationError collecting the forbidden keys (field = the key) and every selection error.
 */
export function parseExportQuery(
  doc: Record<string, unknown>,
  now: Date,
  limits?: QueryLimits,
  keyFilters?: readonly FilterCondition[],
): EventSelection {
  const errors: FieldError[] = EXPORT_FORBIDDEN_KEYS.filter((key) => !isEmptyValue(doc[key])).map((key) => ({
    field: key,
    description: `Exports support only filter and timeframe; remove "${key}".`,
  }));
  const result = collect(errors, () => parseEventSelection(doc, { now, hasInterval: false, limits, keyFilters }));
  if (errors.length > 0 || result === undefined) throw new ValidationError(errors);
  return result;
}

/** Runs a parser; on ValidationError appends its errors and returns undefined. Other errors propagate. */
export function collect<T>(errors: FieldError[], parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    errors.push(...error.errors);
    return undefined;
  }
}

/** Absent, null, "", [] or {}: a key that asks for nothing. */
function isEmptyValue(value: unknown): boolean {
  if (isAbsent(value) || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isPlainObject(value) && Object.keys(value).length === 0;
}
