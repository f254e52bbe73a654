import {
  ExactNumber,
  exactNumberProblem,
  FieldError,
  isExactNumber,
  isJsonNumber,
  isStorableText,
  stringifyJson,
  ValidationError,
} from '../common';
import { describeValue, isPlainObject, jsonTypeName, quoteForMessage } from './json-guards';
import { DEFAULT_QUERY_LIMITS, QueryLimits } from '../config';
import { FilterCondition, FilterOperator } from './query.types';

/** Every operator of Connect docs, "Filters", in the order error messages list them. */
export const FILTER_OPERATORS: readonly FilterOperator[] = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'exists',
  'in',
  'startsWith',
  'endsWith',
  'contains',
];

/** Legacy spellings accepted on input (the first JS SDK emitted `ne`; Connect docs, "Filters"). */
const OPERATOR_ALIASES: ReadonlyMap<string, FilterOperator> = new Map([['ne', 'neq']]);

/** Longest accepted path segment, in characters. */
export const MAX_PATH_SEGMENT_LENGTH = 255;

type Operand = FilterCondition['operand'];

/** Validates one operand; returns its error description, or null when it is valid for the operator. */
type OperandCheck = (operand: unknown, limits: QueryLimits) => string | null;

/**
 * Parses the query's `filter` (Connect docs, "Filters") into ANDed conditions, in input order.
 *
 * Shape: `{ "<dotted.path>": <scalar> | <array> | { "<operator>": <operand>, … } }`.
 * - scalar (string, number, boolean, null) → `eq`; array → `in`; object → one condition per operator.
 * - Operators and operands:
 *   - `eq`, `neq` (legacy `ne`): string, number, boolean or null.
 *   - `gt`, `gte`, `lt`, `lte`: a number (matches numeric properties only, compared numerically) or a
 *     string (matches string properties only, compared in byte order, i.e. collation "C").
 *   - `exists`: boolean. `in`: non-empty array of all strings, all numbers or all booleans, of at
 *     most `limits.maxInValues` elements.
 *   - `startsWith`, `endsWith`, `contains`: string (string properties only, case-sensitive).
 * - Paths: dot-separated, non-empty segments of at most 255 characters; the root `id` and `timestamp`
 *   are rejected. A numeric segment also indexes into arrays (`items.0.sku`), as jsonb `#>` does.
 * - Numbers must be finite (JSON5 could yield Infinity/NaN); strings must not contain U+0000, which
 *   PostgreSQL cannot store (such a value could never match anyway). A number with more digits than
 *   a double keeps (an ExactNumber, common/json-text.ts) is compared exactly, within the limits of
 *   stored numbers (`exactNumberProblem`).
 *
 * - At most `limits.maxFilterConditions` conditions: each operator of each path counts one, as does a
 *   scalar or array shorthand (checked first, so an oversized filter costs no further parsing).
 *
 * @param value the raw `filter` value; `undefined`, `null` and `{}` give no conditions (Swift sends `{}`).
 * @param reserved conditions already taken from `limits.maxFilterConditions`: those of the request's
 *   filtered key (docs/keys.md), which the request's own count toward the limit.
 * @throws ValidationError with every problem found: field `filter` when the value is not an object or
 *   has too many conditions, `filter.<path>` for a bad path or value, `filter.<path>.<operator>` for an
 *   unknown operator or a bad operand (an `in` list too long included).
 */
export function parseFilter(value: unknown, limits: QueryLimits = DEFAULT_QUERY_LIMITS, reserved = 0): FilterCondition[] {
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) {
    throw ValidationError.of(
      'filter',
      `The filter must be an object mapping property paths to a value, an array or an object of operators, not ${jsonTypeName(value)}.`,
    );
  }
  const count = Object.values(value).reduce<number>((n, spec) => n + (isPlainObject(spec) ? Math.max(1, Object.keys(spec).length) : 1), 0);
  if (count + reserved > limits.maxFilterConditions) {
    const max = limits.maxFilterConditions.toLocaleString('en-US');
    throw ValidationError.of(
      'filter',
      reserved > 0
        ? `A filter can have at most ${max} conditions (property paths × operators), the ${reserved.toLocaleString('en-US')} of this ` +
            `filtered API key included; this one has ${count.toLocaleString('en-US')} more.`
        : `A filter can have at most ${max} conditions (property paths × operators); this one has ${count.toLocaleString('en-US')}.`,
    );
  }
  const conditions: FilterCondition[] = [];
  const errors: FieldError[] = [];
  for (const [key, spec] of Object.entries(value)) {
    const pathError = checkPath(key);
    if (pathError) {
      errors.push({ field: `filter.${key}`, description: pathError });
      continue;
    }
    parsePropertySpec(key, spec, limits, conditions, errors);
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return conditions;
}

/** Returns why a property path cannot be filtered, or null when it is valid. */
export function checkPath(key: string): string | null {
  const segments = key.split('.');
  if (segments.some((s) => s === '')) {
    return `The property path ${quoteForMessage(key)} must be non-empty names separated by single dots.`;
  }
  if (segments.some((s) => [...s].length > MAX_PATH_SEGMENT_LENGTH)) {
    return `Each name in a property path must be at most ${MAX_PATH_SEGMENT_LENGTH} characters.`;
  }
  // Pushed events can never hold it (event-validation.ts), and JSON bodies refuse it (JsonBodyMiddleware),
  // so the query parameter refuses it too; every other name, `constructor` or `toString` included, is a plain path.
  if (segments.includes('__proto__')) return '__proto__ cannot be used as a property name.';
  if (!isStorableText(key)) return 'A property path must not contain NUL characters (U+0000) or unpaired surrogates.';
  if (segments[0] === 'id') return 'The event id cannot be queried.';
  if (segments[0] === 'timestamp') return 'The event timestamp cannot be filtered; use "timeframe" instead.';
  return null;
}

/** Adds the conditions of one `path: spec` entry, or its errors. */
function parsePropertySpec(key: string, spec: unknown, limits: QueryLimits, conditions: FilterCondition[], errors: FieldError[]): void {
  const path = key.split('.');
  if (!isPlainObject(spec)) {
    const operator: FilterOperator = Array.isArray(spec) ? 'in' : 'eq';
    const problem = OPERAND_CHECKS[operator](spec, limits);
    if (problem) errors.push({ field: `filter.${key}`, description: problem });
    else conditions.push({ path, operator, operand: spec as Operand });
    return;
  }
  const entries = Object.entries(spec);
  if (entries.length === 0) {
    errors.push({
      field: `filter.${key}`,
      description: `The operator object is empty; expected one or more of ${FILTER_OPERATORS.join(', ')}.`,
    });
  }
  for (const [name, operand] of entries) {
    const operator = toOperator(name);
    const field = `filter.${key}.${name}`;
    if (!operator) {
      errors.push({
        field,
        description: `Unknown filter operator ${quoteForMessage(name)}; expected one of ${FILTER_OPERATORS.join(', ')}.`,
      });
      continue;
    }
    const problem = OPERAND_CHECKS[operator](operand, limits);
    if (problem) errors.push({ field, description: problem });
    else conditions.push({ path, operator, operand: operand as Operand });
  }
}

function toOperator(name: string): FilterOperator | undefined {
  return FILTER_OPERATORS.find((op) => op === name) ?? OPERATOR_ALIASES.get(name);
}

/** A JSON scalar PostgreSQL can store: finite number, boolean, or string without U+0000. */
function isStorableScalar(value: unknown): value is string | number | ExactNumber | boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (isExactNumber(value)) return exactNumberProblem(value) === null;
  if (typeof value === 'string') return isStorableText(value);
  return typeof value === 'boolean';
}

function isNumberOrString(value: unknown): boolean {
  return (isJsonNumber(value) || typeof value === 'string') && isStorableScalar(value);
}

/** `typeof`, with both kinds of numbers as 'number'. */
function kindOf(value: unknown): string {
  return isExactNumber(value) ? 'number' : typeof value;
}

function checkEquality(operand: unknown): string | null {
  if (operand === null || isStorableScalar(operand)) return null;
  return `Expected a string, a finite number, a boolean or null, not ${describeValue(operand)}.`;
}

function checkComparison(operand: unknown): string | null {
  if (isNumberOrString(operand)) return null;
  return `Expected a finite number (compared with numeric properties) or a string (compared with string properties, byte order), not ${describeValue(operand)}.`;
}

function checkExists(operand: unknown): string | null {
  return typeof operand === 'boolean' ? null : `Expected true or false, not ${describeValue(operand)}.`;
}

function checkString(operand: unknown): string | null {
  if (typeof operand === 'string' && isStorableScalar(operand)) return null;
  return `Expected a string without NUL characters or unpaired surrogates, not ${describeValue(operand)}.`;
}

function checkIn(operand: unknown, limits: QueryLimits): string | null {
  const expected = 'Expected a non-empty array whose elements are all strings, all finite numbers or all booleans';
  if (!Array.isArray(operand) || operand.length === 0) return `${expected}, not ${describeValue(operand)}.`;
  if (operand.length > limits.maxInValues) {
    return `An in list can have at most ${limits.maxInValues.toLocaleString('en-US')} values; this one has ${operand.length.toLocaleString('en-US')}.`;
  }
  const firstType = kindOf(operand[0]);
  const uniform = operand.every((element) => isStorableScalar(element) && kindOf(element) === firstType);
  return uniform ? null : `${expected}; mixed or other element types are not supported.`;
}

const OPERAND_CHECKS: Record<FilterOperator, OperandCheck> = {
  eq: checkEquality,
  neq: checkEquality,
  gt: checkComparison,
  gte: checkComparison,
  lt: checkComparison,
  lte: checkComparison,
  exists: checkExists,
  in: checkIn,
  startsWith: checkString,
  endsWith: checkString,
  contains: checkString,
};

/** A condition's identity: path, operator and operand (numbers by value, as the query compares them). */
function conditionId({ path, operator, operand }: FilterCondition): string {
  return stringifyJson([path, operator, operand]);
}

/**
 * The conditions of a query made with a filtered key (docs/keys.md, "What a filtered key narrows"):
 * the key's, then the request's, all ANDed, so a request can only narrow what the key allows (its
 * conditions on the key's paths are ANDed too, never replace them). A request condition identical to
 * one of the key's (same path, operator and operand) is dropped, as it changes nothing.
 */
export function combineFilters(keyFilters: readonly FilterCondition[], requestFilters: readonly FilterCondition[]): FilterCondition[] {
  if (keyFilters.length === 0) return [...requestFilters];
  const seen = new Set(keyFilters.map(conditionId));
  return [...keyFilters, ...requestFilters.filter((condition) => !seen.has(conditionId(condition)))];
}
