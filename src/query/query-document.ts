import JSON5 from 'json5';
import { ValidationError } from '../common/errors';
import { isPlainObject } from './json-guards';

/** Connect's exact 422 description for an unreadable `query` parameter (connect-api.md §4.10). */
export const INVALID_QUERY_DESCRIPTION = 'The query JSON supplied is not valid.';

/**
 * Parses the `query` URL parameter of E5/E6 (connect-api.md §4.1, §4.2, §4.10) into a plain object.
 *
 * Parsing uses JSON5, so the relaxed JSON of Connect's own docs is accepted
 * (`{select:{totalPrice:{sum:'price'}}}`: unquoted keys, single quotes, trailing commas), as is strict JSON.
 *
 * @param raw the already URL-decoded parameter value; `undefined` when the parameter is missing.
 * @returns the query document; `{}` when `raw` is missing, empty or only whitespace.
 * @throws ValidationError `[{field: "query", description: "The query JSON supplied is not valid."}]`
 *   when `raw` is not JSON5 or its top-level value is not an object (array, string, number, null…).
 */
export function parseQueryParam(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON5.parse(raw);
  } catch {
    throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  }
  if (!isPlainObject(parsed)) throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  return parsed;
}
