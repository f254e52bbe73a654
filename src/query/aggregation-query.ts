import { FieldError, ValidationError } from '../common';
import { collect, parseEventSelection } from './event-selection';
import { parseGroupBy } from './group-by';
import { INTERVAL_NEEDS_TIMEFRAME_DESCRIPTION, parseInterval } from './interval';
import { QueryLimits } from '../config';
import { AggregationQuery, FilterCondition } from './query.types';
import { parseSelect } from './select';

/**
 * Parses the query document of E5 `GET /events/:collection?query=` (Connect docs, "Querying"):
 * `select` (Connect docs, "Aggregations"), `filter` (Connect docs, "Filters"), `timeframe` (Connect docs, "Timeframes"), `timezone` (Connect docs, "Timezones"), `groupBy` (Connect docs, "Group by") and
 * `interval` (Connect docs, "Intervals"). Other top-level keys are ignored (SDK "custom query options", Connect docs, "Querying").
 *
 * Rules across keys:
 * - the timezone rule of Connect docs, "Timezones" (`parseEventSelection`, told whether an interval was given, valid or not);
 * - an interval needs a timeframe with both bounds (a relative one, or an absolute one with start and end);
 * - an alias must not also be a groupBy key, since both become keys of the same result row.
 *
 * @param doc the parsed `query` parameter (`parseQueryParam`).
 * @param now the instant relative timeframes are resolved against.
 * @param limits caps on the filter (LimitsConfig.query, src/config/limits.config.ts); the defaults of config/query-limits.ts when absent.
 * @param keyFilters the conditions of the request's filtered key (docs/keys.md), ANDed with the document's filter.
 * @throws ValidationError collecting every problem of every key, in the order
 *   select, groupBy, interval, filter, timezone, timeframe, then the cross-key rules.
 */
export function parseAggregationQuery(
  doc: Record<string, unknown>,
  now: Date,
  limits?: QueryLimits,
  keyFilters?: readonly FilterCondition[],
): AggregationQuery {
  const errors: FieldError[] = [];
  const select = collect(errors, () => parseSelect(doc.select));
  const groupBy = collect(errors, () => parseGroupBy(doc.groupBy));
  const interval = collect(errors, () => parseInterval(doc.interval));
  // An invalid interval (undefined here) still counts as given, so it does not add a timezone error.
  const selection = collect(errors, () => parseEventSelection(doc, { now, hasInterval: interval !== null, limits, keyFilters }));

  if (interval && selection && !(selection.timeframe?.start && selection.timeframe.end)) {
    errors.push({ field: 'interval', description: INTERVAL_NEEDS_TIMEFRAME_DESCRIPTION });
  }
  if (select && groupBy) {
    const groupKeys = new Set(groupBy.map((g) => g.key));
    for (const { alias } of select.filter((a) => groupKeys.has(a.alias))) {
      errors.push({ field: `select.${alias}`, description: `The alias "${alias}" is also a groupBy property; choose another alias.` });
    }
  }
  if (errors.length > 0 || !select || !groupBy || interval === undefined || !selection) throw new ValidationError(errors);
  return { select, groupBy, interval, selection };
}
