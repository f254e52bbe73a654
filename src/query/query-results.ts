import { ExactNumber, numericToJson, parseJsonText } from '../common';
import { aggregateColumn, BUCKET_COLUMN, COUNT_COLUMN, groupColumn } from './aggregation-compiler';
import { IntervalResultDto, QueryResponseDto, QueryResultRow, ResultValue } from './dto/query-response.dto';
import { formatIntervalInstant, IntervalBoundary } from './interval';
import { AggregationQuery } from './query.types';
import { COUNT_KEY } from './select';

/** A row of an aggregation statement as `pg` returns it (bigint, numeric and group values as strings). */
export type AggregateRow = Record<string, unknown>;

/**
 * Turns the rows of `compileAggregation`'s statement into the response body of Connect docs, "Query results":
 * `{"metadata": {"groups", "interval", "timezone"}, "results": [...]}`.
 *
 * - Plain: `results` is the one row. Grouped: one row per group, in the statement's order.
 * - Interval: one `{"interval": {"start", "end"}, "results": [rows]}` per bucket of `boundaries`, in
 *   ascending order; `results` is `[]` for a bucket without events. Start and end carry the zone's offset.
 * - Each row: group keys (value as stored, every digit, null for the null group), aliases, then `_count`. Aggregates are
 *   JSON numbers (`toJsonNumber`); `count` aliases equal `_count`.
 * - `metadata.timezone` is the timezone as the client gave it (10.5, "Australia/Brisbane"), null when absent.
 *
 * @param boundaries bucket boundaries from `intervalBoundaries`, null without an interval.
 */
export function shapeQueryResponse(query: AggregationQuery, rows: AggregateRow[], boundaries: IntervalBoundary[] | null): QueryResponseDto {
  const metadata = {
    groups: query.groupBy.map((group) => group.key),
    interval: query.interval,
    timezone: query.selection.timezone?.input ?? null,
  };
  const toRow = (row: AggregateRow): QueryResultRow => {
    const count = toJsonNumber(row[COUNT_COLUMN]);
    // fromEntries defines own properties, so even an alias such as "__proto__" is an ordinary key.
    return Object.fromEntries([
      ...query.groupBy.map((group, i): [string, ResultValue] => [group.key, groupValue(row[groupColumn(i)])]),
      ...query.select.map((a, i): [string, ResultValue] => [
        a.alias,
        a.operation === 'count' ? count : toJsonNumber(row[aggregateColumn(i)]),
      ]),
      [COUNT_KEY, count],
    ]);
  };
  if (boundaries === null) return { metadata, results: rows.map(toRow) };

  const formatted = boundaries.map(formatIntervalInstant);
  const buckets: IntervalResultDto[] = formatted.slice(0, -1).map((start, i) => ({
    interval: { start, end: formatted[i + 1] },
    results: [],
  }));
  for (const row of rows) {
    buckets[Number(row[BUCKET_COLUMN]) - 1].results.push(toRow(row));
  }
  return { metadata, results: buckets };
}

/**
 * A PostgreSQL number as an exact JSON number: `pg` returns bigint and numeric as strings to keep
 * their precision, and `numericToJson` keeps it: trailing zeros of the fraction dropped
 * (`"219.7300000000000000"` → 219.73, `"25"` → 25), a double when it holds the value exactly, else an
 * ExactNumber (`"24691357802469135780"`), which the response writer (etag.interceptor.ts) writes digit
 * for digit.
 * @returns null for SQL NULL.
 */
export function toJsonNumber(value: unknown): number | ExactNumber | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? value : numericToJson(value as string); // pg's numeric text
}

/** A group's value from its jsonb text (null for the null group), numbers with every digit as stored. */
function groupValue(text: unknown): ResultValue {
  return text === null || text === undefined ? null : (parseJsonText(text as string) as ResultValue);
}
