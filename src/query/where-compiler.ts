import { ExactNumber, isJsonNumber, SqlParams, stringifyJson } from '../common';
import { EventSelection, FilterCondition, ResolvedTimeframe } from './query.types';

/** Table aliases are written into SQL text, so only plain identifiers are allowed (set by our code, never by clients). */
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Compiles an event selection (Connect docs, "Filters" filters, Connect docs, "Timeframes" timeframe) into one SQL boolean
 * expression over `<alias>.properties` (jsonb, without `id`/`timestamp`) and `<alias>.timestamp`
 * (timestamptz). Every value, property paths included, is bound through `params`.
 *
 * Shape: `<alias>.timestamp >= $a AND <alias>.timestamp < $b AND (<cond 1>) AND (<cond 2>) …`, or
 * `TRUE` when there is nothing to filter. The timestamp bounds are plain top-level conjuncts, so the
 * btree index on (project_id, collection, timestamp, id) serves the timeframe. Each filter condition
 * is two-valued (never SQL NULL), so the expression stays correct under NOT.
 *
 * Semantics (Connect behaved like MongoDB): see `compileCondition`.
 *
 * @param alias the events table alias; must be a lower-case SQL identifier.
 * @throws Error (a programming error, not a client one) if `alias` is not a plain identifier.
 */
export function compileWhere(sel: EventSelection, params: SqlParams, alias = 'e'): string {
  if (!SQL_IDENTIFIER.test(alias)) throw new Error(`Invalid SQL alias: ${alias}`);
  const conjuncts = [
    ...compileTimeframe(sel.timeframe, params, alias),
    ...sel.filters.map((condition) => `(${compileCondition(condition, params, alias)})`),
  ];
  return conjuncts.length === 0 ? 'TRUE' : conjuncts.join(' AND ');
}

/** `start <= timestamp < end` as zero, one or two sargable conditions (open bounds are omitted). */
export function compileTimeframe(timeframe: ResolvedTimeframe | null, params: SqlParams, alias: string): string[] {
  const conditions: string[] = [];
  if (timeframe?.start) conditions.push(`${alias}.timestamp >= ${params.add(timeframe.start.toISOString(), 'timestamptz')}`);
  if (timeframe?.end) conditions.push(`${alias}.timestamp < ${params.add(timeframe.end.toISOString(), 'timestamptz')}`);
  return conditions;
}

/**
 * One filter condition as a two-valued SQL expression. `v` is the value at the path
 * (`<alias>.properties #> $n::text[]`; SQL NULL when missing, jsonb `null` when stored as null):
 * - eq x → `v = x::jsonb` (jsonb equality: 5 = 5.0, "5" ≠ 5); eq null ≡ exists false.
 * - neq x → `v IS DISTINCT FROM x::jsonb` (missing properties match, like Mongo's $ne); neq null ≡ exists true.
 * - gt/gte/lt/lte number → numeric comparison, only when `jsonb_typeof(v) = 'number'` (a CASE guards the cast);
 *   string → text comparison with COLLATE "C" (byte order), only when v is a string.
 * - exists true → present and not jsonb null; exists false → missing or jsonb null.
 * - in [..] → `v = ANY(x::jsonb[])`.
 * - startsWith / endsWith / contains → string values only, case-sensitive, no LIKE (so % and _ are literal).
 */
export function compileCondition(condition: FilterCondition, params: SqlParams, alias: string): string {
  const v = `(${alias}.properties #> ${params.add(condition.path, 'text[]')})`;
  const { operator, operand } = condition;
  switch (operator) {
    case 'eq':
      return operand === null ? missingOrNull(v) : `COALESCE(${v} = ${jsonbParam(operand, params)}, FALSE)`;
    case 'neq':
      return operand === null ? presentAndNotNull(v) : `${v} IS DISTINCT FROM ${jsonbParam(operand, params)}`;
    case 'exists':
      return operand === true ? presentAndNotNull(v) : missingOrNull(v);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return compileComparison(v, COMPARISON_SQL[operator], operand, params);
    case 'in': {
      const elements = (operand as Array<string | number | ExactNumber | boolean>).map((element) => stringifyJson(element));
      return `COALESCE(${v} = ANY(${params.add(elements, 'jsonb[]')}), FALSE)`;
    }
    case 'startsWith':
      return whenString(v, `starts_with(${text(v)}, ${params.add(operand, 'text')})`);
    case 'endsWith': {
      const suffix = params.add(operand, 'text');
      return whenString(v, `right(${text(v)}, char_length(${suffix})) = ${suffix}`);
    }
    case 'contains':
      return whenString(v, `strpos(${text(v)}, ${params.add(operand, 'text')}) > 0`);
  }
}

const COMPARISON_SQL = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** Numeric operand → numeric properties only; string operand → string properties only, byte order. */
function compileComparison(v: string, sqlOperator: string, operand: FilterCondition['operand'], params: SqlParams): string {
  if (isJsonNumber(operand)) {
    // String() of an ExactNumber is its digits, so the comparison is exact.
    return `CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric ${sqlOperator} ${params.add(String(operand), 'numeric')} ELSE FALSE END`;
  }
  return whenString(v, `${text(v)} COLLATE "C" ${sqlOperator} ${params.add(operand, 'text')}`);
}

/**
 * The operand as a jsonb parameter; it is sent as JSON text so numbers stay numbers (every digit of an
 * ExactNumber) and strings stay strings.
 */
function jsonbParam(operand: NonNullable<FilterCondition['operand']>, params: SqlParams): string {
  return params.add(stringifyJson(operand), 'jsonb');
}

/** The unquoted text of a jsonb string (`#>> '{}'` extracts the top-level scalar). */
function text(v: string): string {
  return `(${v} #>> '{}')`;
}

function whenString(v: string, test: string): string {
  return `CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${test} ELSE FALSE END`;
}

function presentAndNotNull(v: string): string {
  return `(${v} IS NOT NULL AND jsonb_typeof(${v}) <> 'null')`;
}

function missingOrNull(v: string): string {
  return `(${v} IS NULL OR jsonb_typeof(${v}) = 'null')`;
}
