import { FieldError, ValidationError } from '../common';
import { describeValue, isAbsent, isPlainObject, jsonTypeName, quoteForMessage } from './json-guards';
import { propertyPathProblem } from './property-path';
import { MAX_SELECT_ALIASES } from './query.constants';
import { Aggregation } from './query.types';

/** The operations that take a property path (`count` takes none), in the order messages list them. */
export const PROPERTY_OPERATIONS = ['sum', 'avg', 'min', 'max'] as const;
type PropertyOperation = (typeof PROPERTY_OPERATIONS)[number];

/** The key every result row carries with its event count (Connect docs, "Query results"); not usable as an alias. */
export const COUNT_KEY = '_count';

const SHAPE =
  'Each alias maps to "count" or to an object with exactly one of ' +
  PROPERTY_OPERATIONS.map((op) => `{"${op}": "<property path>"}`).join(', ');

export const EMPTY_SELECT_DESCRIPTION =
  'The query needs a select with at least one aggregation, e.g. {"select": {"itemsSold": "count", "totalPrice": {"sum": "price"}}}.';

/**
 * Parses the query's `select` (Connect docs, "Aggregations") into aggregations, in input order.
 *
 * Shape: `{ "<alias>": "count" | { "sum" | "avg" | "min" | "max": "<dotted.property.path>" } }`.
 * Aliases and paths keep their case; operation names are lower-case, as every SDK sends them.
 * `{"count": "<path>"}` is refused: Connect has no per-property count (Connect docs, "Aggregations").
 *
 * @param value the raw `select`; absent, `null` and `{}` are errors (a query must compute something).
 * @throws ValidationError with every problem found: field `select` when the value is absent, empty, not
 *   an object or has more than 100 aliases; `select.<alias>` for an empty or reserved (`_count`) alias,
 *   an unknown operation, more than one operation, or an invalid property path.
 */
export function parseSelect(value: unknown): Aggregation[] {
  if (isAbsent(value) || (isPlainObject(value) && Object.keys(value).length === 0)) {
    throw ValidationError.of('select', EMPTY_SELECT_DESCRIPTION);
  }
  if (!isPlainObject(value)) {
    throw ValidationError.of('select', `The select must be an object, not ${jsonTypeName(value)}. ${SHAPE}.`);
  }
  if (Object.keys(value).length > MAX_SELECT_ALIASES) {
    throw ValidationError.of('select', `A select can have at most ${MAX_SELECT_ALIASES} aliases.`);
  }
  const aggregations: Aggregation[] = [];
  const errors: FieldError[] = [];
  for (const [alias, spec] of Object.entries(value)) {
    const field = `select.${alias}`;
    const problem = aliasProblem(alias) ?? specProblem(spec);
    if (problem) {
      errors.push({ field, description: problem });
    } else if (spec === 'count') {
      aggregations.push({ alias, operation: 'count' });
    } else {
      const [[operation, property]] = Object.entries(spec as Record<string, string>);
      aggregations.push({ alias, operation: operation as PropertyOperation, property, path: property.split('.') });
    }
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return aggregations;
}

function aliasProblem(alias: string): string | null {
  if (alias.length === 0) return 'An alias cannot be empty.';
  if (alias === COUNT_KEY) return `The alias "${COUNT_KEY}" is reserved: every result row carries the event count under it.`;
  return null;
}

/** Why one alias's value is not a valid aggregation, or null when it is. */
function specProblem(spec: unknown): string | null {
  if (spec === 'count') return null;
  if (typeof spec === 'string') return `Unknown aggregation ${quoteForMessage(spec)}. ${SHAPE}.`;
  if (!isPlainObject(spec)) return `An aggregation cannot be ${describeValue(spec)}. ${SHAPE}.`;
  const operations = Object.keys(spec);
  if (operations.length !== 1) {
    return `Exactly one aggregation per alias is allowed, got ${operations.length === 0 ? 'none' : operations.map((op) => quoteForMessage(op)).join(', ')}. ${SHAPE}.`;
  }
  const operation = operations[0];
  if (operation === 'count') return 'Count takes no property: write "count", not {"count": ...}.';
  if (!PROPERTY_OPERATIONS.some((op) => op === operation)) {
    return `Unknown aggregation ${quoteForMessage(operation)}; expected one of count, ${PROPERTY_OPERATIONS.join(', ')}.`;
  }
  const property = spec[operation];
  if (typeof property !== 'string') return `The property path must be a string, not ${describeValue(property)}.`;
  return propertyPathProblem(property, 'aggregated');
}
