/**
 * Small type guards and formatting helpers shared by the query parsers (query-document.ts,
 * filter.ts, timeframe.ts, timezone.ts, event-selection.ts). Pure functions, no I/O.
 */
import { isExactNumber } from '../common';

/** True for a JSON object (`{...}`): not null, not an array, not an ExactNumber (common/json-text.ts). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isExactNumber(value);
}

/** True when a top-level query key counts as "not given": `undefined` (absent) or JSON `null`. */
export function isAbsent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

/** The JSON type name of a value, for error descriptions: "string", "number", "array", "object", … */
export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (isExactNumber(value)) return 'number';
  return typeof value;
}

/** A client value quoted for an error description, cut to `max` characters so errors stay short. */
export function quoteForMessage(value: string, max = 100): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return `'${cut}'`;
}

/** A short rendering of any client value for an error description: `5`, `'abc'`, `an array`, … */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return quoteForMessage(value);
  if (isExactNumber(value)) return quoteForMessage(value.value).slice(1, -1);
  const type = jsonTypeName(value);
  return type === 'array' || type === 'object' ? `an ${type}` : type;
}
