import JSON5 from 'json5';
import { ValidationError } from '../common/errors';
import { doublesWhereExact, parseJsonText } from '../common/json-text';
import { isPlainObject } from './json-guards';

/** Connect's exact 422 description for an unreadable `query` parameter (connect-api.md §4.10). */
export const INVALID_QUERY_DESCRIPTION = 'The query JSON supplied is not valid.';

/**
 * Parses the `query` URL parameter of E5/E6 (connect-api.md §4.1, §4.2, §4.10) into a plain object.
 *
 * Strict JSON is parsed first, keeping the exact value of numbers a double cannot hold
 * (`parseJsonText`, `doublesWhereExact`: a filter on `12345678901234567890` compares exactly). Text that is not strict JSON is parsed as JSON5, so the
 * relaxed JSON of Connect's own docs is accepted (`{select:{totalPrice:{sum:'price'}}}`: unquoted
 * keys, single quotes, trailing commas); its numbers are doubles (about 15–17 significant digits).
 *
 * @param raw the already URL-decoded parameter value as Express hands it over: `undefined` when
 *   the parameter is missing, an array when it is repeated.
 * @returns the query document; `{}` when `raw` is missing, empty or only whitespace.
 * @throws ValidationError `[{field: "query", description: "The query JSON supplied is not valid."}]`
 *   when `raw` is not JSON5 or its top-level value is not an object (array, string, number, null…);
 *   `[{field: "query", ...}]` too when the parameter is repeated (never silently pick one copy).
 */
export function parseQueryParam(raw: unknown): Record<string, unknown> {
  if (raw === undefined) return {};
  if (typeof raw !== 'string') throw ValidationError.of('query', 'Give the query parameter once, as one JSON document.');
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = doublesWhereExact(parseJsonText(raw));
  } catch {
    try {
      parsed = JSON5.parse(raw);
    } catch {
      throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
    }
  }
  if (!isPlainObject(parsed)) throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  return parsed;
}
