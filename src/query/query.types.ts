import type { ExactNumber } from '../common';
/**
 * The typed form of Connect's query document (Connect docs, "Querying"), shared by querying and
 * exporting. Parsing (query-document.ts, filter.ts, timeframe.ts, timezone.ts) turns the JSON the
 * client sent into these types or throws `ValidationError` (422); compiling (where-compiler.ts, aggregation-compiler.ts)
 * turns them into parameterised SQL.
 */

/** Filter operators of Connect docs, "Filters" (`ne` is accepted on input as a legacy alias of `neq`). */
export type FilterOperator = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists' | 'in' | 'startsWith' | 'endsWith' | 'contains';

/** One condition on one property path; all conditions of a query are ANDed. */
export interface FilterCondition {
  /** Property path split on dots: `"product.category"` → `["product", "category"]`. */
  path: string[];
  operator: FilterOperator;
  /**
   * Already validated against the operator's operand type. A number is a double or, when a double
   * would not reproduce the query's digits, an ExactNumber (common/json-text.ts).
   */
  operand: string | number | ExactNumber | boolean | null | Array<string | number | ExactNumber | boolean>;
}

/** A timeframe resolved to absolute UTC instants: `start <= timestamp < end`; null = open. */
export interface ResolvedTimeframe {
  start: Date | null;
  end: Date | null;
}

/** A query timezone: an IANA zone name or a fixed offset in minutes east of UTC (10.5 h → 630). */
export type QueryTimezone = { kind: 'iana'; name: string; input: string } | { kind: 'offset'; minutes: number; input: number };

/** The event-selecting part of a query: what an export runs, and what every query starts from. */
export interface EventSelection {
  filters: FilterCondition[];
  timeframe: ResolvedTimeframe | null;
  timezone: QueryTimezone | null;
}

/** Aggregation operations of Connect docs, "Aggregations" (lower-case on the wire). */
export type AggregationOperation = 'count' | 'sum' | 'avg' | 'min' | 'max';

/** One `select` entry: the alias (a result key, case kept) and what it computes. */
export type Aggregation =
  | { alias: string; operation: 'count' }
  | {
      alias: string;
      operation: Exclude<AggregationOperation, 'count'>;
      /** The property path as given (`"product.price"`) and split on dots. */
      property: string;
      path: string[];
    };

/** One `groupBy` entry (Connect docs, "Group by"): `key` is the dotted path as given, the result rows' flat key. */
export interface GroupBy {
  key: string;
  path: string[];
}

/** Interval names of Connect docs, "Intervals", in increasing length. */
export type IntervalName = 'minutely' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'yearly';

/** A parsed E5 query document (Connect docs, "Querying"): what to compute, over which events, bucketed how. */
export interface AggregationQuery {
  /** In input order; never empty. */
  select: Aggregation[];
  /** In input order, duplicates removed; empty when not grouped. */
  groupBy: GroupBy[];
  /** Null when not bucketed; when set, `selection.timeframe` has both a start and an end. */
  interval: IntervalName | null;
  selection: EventSelection;
}
