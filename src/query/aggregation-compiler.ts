import { SqlParams } from '../common';
import { compileWhere } from './where-compiler';
import { AggregationQuery } from './query.types';

/** Result columns of an aggregation statement; aliases and group keys are client text, so never column names. */
export const BUCKET_COLUMN = 'bucket';
export const COUNT_COLUMN = '_count';
/** Column of the i-th groupBy entry: its jsonb value as text, SQL NULL for missing or JSON null. */
export const groupColumn = (index: number): string => `g${index}`;
/** Column of the i-th select entry when it is not `count` (which reads `_count`): a numeric or NULL. */
export const aggregateColumn = (index: number): string => `a${index}`;

/** Whose events a query reads. */
export interface AggregationScope {
  projectId: string;
  collection: string;
}

/** One SQL statement and its positional parameters, for `pg`. */
export interface AggregationStatement {
  text: string;
  values: unknown[];
}

/**
 * Compiles a parsed query (Connect docs, "Aggregations", "Group by", "Intervals") into ONE SQL statement that aggregates in
 * PostgreSQL. Events are selected by the shared compiler (`compileWhere`, the exports' too).
 *
 * Columns:
 * - `bucket` (with an interval): `width_bucket(timestamp, $starts::timestamptz[])`, the 1-based index of the
 *   bucket holding the event, found by binary search over the bucket starts computed in Node
 *   (`intervalBoundaries`); the timeframe bounds in WHERE keep every event inside bucket 1…n.
 * - `g0, g1, …` per groupBy entry: `NULLIF(properties #> $path, 'null')::text`, so missing and JSON null
 *   share the SQL NULL group; grouped and ordered by the jsonb value, returned as its text (every digit).
 * - `_count`: `count(*)` (bigint); `count` aliases read it.
 * - `a<i>` per sum/avg/min/max alias: the aggregate over `numeric` of the values that are JSON numbers
 *   (others count as SQL NULL, which aggregates ignore), so sums are exact; NULL when there are none.
 *
 * Without groupBy and interval there is no GROUP BY: exactly one row, also over zero events
 * (`_count` 0, aggregates NULL). Otherwise rows are grouped by the bucket and the groups' jsonb values, ordered by the
 * same ascending (buckets in time order; groups in jsonb order, the null group last), and limited to
 * `rowLimit` rows, so the caller can detect "more than N" without fetching everything. Only non-empty
 * (bucket, group) combinations come back; the caller adds the empty buckets.
 *
 * Every value is a parameter: property paths as `text[]` (each distinct path bound once), bucket starts
 * as `timestamptz[]`.
 *
 * @param bucketStarts UTC epoch ms of each bucket's start, ascending (null without an interval).
 */
export function compileAggregation(
  query: AggregationQuery,
  scope: AggregationScope,
  bucketStarts: number[] | null,
  rowLimit: number,
): AggregationStatement {
  const params = new SqlParams();
  const scopeSql = `e.project_id = ${params.add(scope.projectId)} AND e.collection = ${params.add(scope.collection)}`;
  const pathPlaceholders = new Map<string, string>();
  const valueAt = (path: string[]): string => {
    const key = JSON.stringify(path);
    if (!pathPlaceholders.has(key)) pathPlaceholders.set(key, params.add(path, 'text[]'));
    return `e.properties #> ${pathPlaceholders.get(key)}`;
  };

  const keyColumns: string[] = [];
  /** What rows are grouped and ordered by: the bucket's ordinal, then each group's jsonb value. */
  const keys: string[] = [];
  if (bucketStarts) {
    const starts = bucketStarts.map((ms) => new Date(ms).toISOString());
    keyColumns.push(`width_bucket(e."timestamp", ${params.add(starts, 'timestamptz[]')}) AS ${BUCKET_COLUMN}`);
    keys.push('1');
  }
  query.groupBy.forEach((group, i) => {
    // Grouped and ordered as jsonb (5 = 5.0, numbers in numeric order), returned as jsonb's text, which
    // pg would otherwise parse with JSON.parse, rounding big numbers.
    const value = `NULLIF(${valueAt(group.path)}, 'null'::jsonb)`;
    keyColumns.push(`${value}::text AS ${groupColumn(i)}`);
    keys.push(value);
  });
  const aggregates = [`count(*) AS ${COUNT_COLUMN}`];
  query.select.forEach((aggregation, i) => {
    if (aggregation.operation !== 'count') {
      aggregates.push(`${aggregation.operation}(${numericValue(valueAt(aggregation.path))}) AS ${aggregateColumn(i)}`);
    }
  });
  const where = `${scopeSql} AND ${compileWhere(query.selection, params, 'e')}`;

  const lines = [`SELECT ${[...keyColumns, ...aggregates].join(',\n       ')}`, '  FROM events e', ` WHERE ${where}`];
  if (keys.length > 0) {
    lines.push(` GROUP BY ${keys.join(', ')}`, ` ORDER BY ${keys.join(', ')}`, ` LIMIT ${params.add(rowLimit)}`);
  }
  return { text: lines.join('\n'), values: params.values };
}

/** The value as `numeric` when it is a JSON number, else SQL NULL (strings, booleans, objects, missing). */
function numericValue(v: string): string {
  return `CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric END`;
}
