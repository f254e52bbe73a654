import JSON5 from 'json5';
import { doublesWhereExact, parseJsonText, stringifyJson, ValidationError } from '../common';
import { isPlainObject } from './json-guards';
import { DEFAULT_QUERY_LIMITS } from '../config';
import { firstInexactRelaxedNumber } from './relaxed-numbers';

/** Connect's exact 422 description for an unreadable `query` parameter (Connect docs, "Query errors"). */
export const INVALID_QUERY_DESCRIPTION = 'The query JSON supplied is not valid.';

/**
 * Parses the `query` URL parameter of E5/E6 (Connect docs, "Querying", "Querying", "Query errors") into a plain object.
 *
 * Strict JSON is parsed first, keeping the exact value of numbers a double cannot hold
 * (`parseJsonText`, `doublesWhereExact`: a filter on `12345678901234567890` compares exactly). Text that is not strict JSON is parsed as JSON5, so the
 * relaxed JSON of Connect's own docs is accepted (`{select:{totalPrice:{sum:'price'}}}`: unquoted
 * keys, single quotes, trailing commas); its numbers are read as doubles, so one that a double
 * would change (`12345678901234567890`) is refused rather than rounded: what runs is what was asked.
 *
 * @param raw the already URL-decoded parameter value as Express hands it over: `undefined` when
 *   the parameter is missing, an array when it is repeated.
 * @param maxChars the longest document accepted, in characters (QUERY_MAX_DOCUMENT_CHARS); checked
 *   before parsing.
 * @returns the query document; `{}` when `raw` is missing, empty or only whitespace.
 * @throws ValidationError `[{field: "query", description: "The query JSON supplied is not valid."}]`
 *   when `raw` is not JSON5 or its top-level value is not an object (array, string, number, null…);
 *   `[{field: "query", ...}]` too when the parameter is repeated (never silently pick one copy), or
 *   longer than `maxChars`; `[{field: "query", ...}]` naming the number when relaxed JSON holds one a
 *   double would change.
 */
export function parseQueryParam(raw: unknown, maxChars = DEFAULT_QUERY_LIMITS.maxDocumentChars): Record<string, unknown> {
  if (raw === undefined) return {};
  if (typeof raw !== 'string') throw ValidationError.of('query', 'Give the query parameter once, as one JSON document.');
  checkDocumentLength(raw.length, maxChars);
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
    const inexact = firstInexactRelaxedNumber(raw);
    if (inexact !== null) {
      throw ValidationError.of(
        'query',
        `The number ${inexact.slice(0, 40)}${inexact.length > 40 ? '…' : ''} cannot be read exactly from relaxed JSON, which reads ` +
          'numbers as doubles (about 15 significant digits); write the query as strict JSON (quoted keys and strings) to use it.',
      );
    }
  }
  if (!isPlainObject(parsed)) throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  return parsed;
}

/**
 * The `query` of a JSON request body (E7 `POST /events/:collection/export`): a relaxed-JSON string,
 * parsed as the `query` URL parameter is, or an object, returned as it is (the same reference: no
 * copy, no key dropped, so `GET …/export?query=` and the body select the same events; numbers a
 * double holds exactly become doubles in place, as `parseQueryParam` does, `doublesWhereExact`).
 *
 * @param maxChars the longest document accepted, in characters: a string's length, an object's
 *   compact JSON text (exact numbers counted by their digits).
 * @returns `{}` when `raw` is absent or null.
 * @throws ValidationError on field `query`: not an object or a string holding one, or too long.
 */
export function parseQueryBody(raw: unknown, maxChars = DEFAULT_QUERY_LIMITS.maxDocumentChars): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw === 'string') return parseQueryParam(raw, maxChars);
  if (!isPlainObject(raw)) throw ValidationError.of('query', INVALID_QUERY_DESCRIPTION);
  checkDocumentLength(stringifyJson(raw).length, maxChars);
  return doublesWhereExact(raw) as Record<string, unknown>;
}

function checkDocumentLength(length: number, maxChars: number): void {
  if (length > maxChars) {
    throw ValidationError.of(
      'query',
      `The query document is ${length.toLocaleString('en-US')} characters long; at most ${maxChars.toLocaleString('en-US')} are allowed.`,
    );
  }
}
