import JSON5 from 'json5';
import { ValidationError } from '../common/errors';
import { isPlainObject } from './json-guards';
import { DEFAULT_QUERY_LIMITS } from './query.constants';

/** Connect's exact 422 description for an unreadable `query` parameter (connect-api.md §4.10). */
export const INVALID_QUERY_DESCRIPTION = 'The query JSON supplied is not valid.';

/**
 * Parses the `query` URL parameter of E5/E6 (connect-api.md §4.1, §4.2, §4.10) into a plain object.
 *
 * Parsing uses JSON5, so the relaxed JSON of Connect's own docs is accepted
 * (`{select:{totalPrice:{sum:'price'}}}`: unquoted keys, single quotes, trailing commas), as is strict JSON.
 *
 * @param raw the already URL-decoded parameter value as Express hands it over: `undefined` when
 *   the parameter is missing, an array when it is repeated.
 * @param maxChars the longest document accepted, in characters (QUERY_MAX_DOCUMENT_CHARS); checked
 *   before parsing.
 * @returns the query document; `{}` when `raw` is missing, empty or only whitespace.
 * @throws ValidationError `[{field: "query", description: "The query JSON supplied is not valid."}]`
 *   when `raw` is not JSON5 or its top-level value is not an object (array, string, number, null…);
 *   `[{field: "query", ...}]` too when the parameter is repeated (never silently pick one copy), or
 *   longer than `maxChars`.
 */
export function parseQueryParam(raw: unknown, maxChars = DEFAULT_QUERY_LIMITS.maxDocumentChars): Record<string, unknown> {
  if (raw === undefined) return {};
  if (typeof raw !== 'string') throw ValidationError.of('query', 'Give the query parameter once, as one JSON document.');
  checkDocumentLength(raw.length, maxChars);
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = parseJsonOrJson5(raw);
  } catch {
    throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  }
  if (!isPlainObject(parsed)) throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  return parsed;
}

/**
 * Strict JSON through the native parser, else JSON5. Both give the same value for strict JSON (own
 * `__proto__` keys included), and JSON5 is written in JavaScript: about 20 ms for a 16 KB document
 * here against well under 1 ms, and most SDKs send strict JSON.
 */
function parseJsonOrJson5(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return JSON5.parse(raw);
  }
}

/**
 * The `query` of a JSON request body (E7 `POST /events/:collection/export`): a relaxed-JSON string,
 * parsed as the `query` URL parameter is, or an object, returned as it is (the same reference: no
 * copy, no key dropped, so `GET …/export?query=` and the body select the same events).
 *
 * @param maxChars the longest document accepted, in characters: a string's length, an object's
 *   compact JSON text (a bigint counted as the JSON string of its digits).
 * @returns `{}` when `raw` is absent or null.
 * @throws ValidationError on field `query`: not an object or a string holding one, or too long.
 */
export function parseQueryBody(raw: unknown, maxChars = DEFAULT_QUERY_LIMITS.maxDocumentChars): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw === 'string') return parseQueryParam(raw, maxChars);
  if (!isPlainObject(raw)) throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  checkDocumentLength(jsonLength(raw), maxChars);
  return raw;
}

/** Characters of a value's compact JSON text; a bigint counts as the JSON string of its digits. */
function jsonLength(value: unknown): number {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).length;
}

function checkDocumentLength(length: number, maxChars: number): void {
  if (length > maxChars) {
    throw ValidationError.of(
      'query',
      `The query document is ${length.toLocaleString('en-US')} characters long; at most ${maxChars.toLocaleString('en-US')} are allowed.`,
    );
  }
}
