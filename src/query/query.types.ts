/**
 * The typed form of Connect's query document (connect-api.md §4), shared by querying and
 * exporting. Parsing (query-document.ts, filter.ts, timeframe.ts, timezone.ts) turns the JSON the
 * client sent into these types or throws `ValidationError` (422); compiling (query-compiler.ts)
 * turns them into parameterised SQL.
 */

/** Filter operators of connect-api.md §4.4 (`ne` is accepted on input as a legacy alias of `neq`). */
export type FilterOperator =
  | 'eq'
  | 'neq'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'exists'
  | 'in'
  | 'startsWith'
  | 'endsWith'
  | 'contains';

/** One condition on one property path; all conditions of a query are ANDed. */
export interface FilterCondition {
  /** Property path split on dots: `"product.category"` → `["product", "category"]`. */
  path: string[];
  operator: FilterOperator;
  /** Already validated against the operator's operand type. */
  operand: string | number | boolean | null | Array<string | number | boolean>;
}

/** A timeframe resolved to absolute UTC instants: `start <= timestamp < end`; null = open. */
export interface ResolvedTimeframe {
  start: Date | null;
  end: Date | null;
}

/** A query timezone: an IANA zone name or a fixed offset in minutes east of UTC (10.5 h → 630). */
export type QueryTimezone =
  | { kind: 'iana'; name: string; input: string }
  | { kind: 'offset'; minutes: number; input: number };

/** The event-selecting part of a query: what an export runs, and what every query starts from. */
export interface EventSelection {
  filters: FilterCondition[];
  timeframe: ResolvedTimeframe | null;
  timezone: QueryTimezone | null;
}
