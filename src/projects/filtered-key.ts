import { createDecipheriv } from 'node:crypto';
import { doublesWhereExact, parseJsonText } from '../common';
import { isAbsent, isPlainObject, parseFilter } from '../query';
import { DEFAULT_QUERY_LIMITS, QueryLimits } from '../config';
import type { FilterCondition } from '../query';

/**
 * The one message of every refused filtered key (docs/keys.md, "Filtered keys"), whichever step
 * failed (hex, decryption, padding, UTF-8, JSON, definition, filters, unknown project), so the
 * answer tells nothing about the key's plaintext.
 */
export const INVALID_FILTERED_KEY_MESSAGE =
  "Unauthorised. The filtered API key is invalid: it is not a key definition encrypted with this project's master key.";

/**
 * Longest filtered key read, in characters. Node refuses the request line and headers together
 * over 16 KB (431) before any of this runs, so the cap only bounds work for callers other than HTTP.
 */
export const MAX_FILTERED_KEY_CHARS = 16 * 1024;

/** `<32 hex characters: IV>-…`: what makes an `X-Api-Key` a filtered key rather than a plain one. */
const FILTERED_KEY_PREFIX = /^[0-9a-fA-F]{32}-/;
/** The whole key: IV, hyphen, ciphertext of whole AES blocks (16 bytes = 32 hex characters each). */
const FILTERED_KEY = /^[0-9a-fA-F]{32}-(?:[0-9a-fA-F]{32})+$/;

/** What a filtered key allows (Connect docs, "Generating a filtered key"). */
export interface FilteredKeyDefinition {
  canQuery: boolean;
  canPush: boolean;
  /**
   * Conditions ANDed to every query, small export and S3 export made with the key (in the key's
   * order); empty when `canQuery` is false (Connect: "If false, the filters property is ignored").
   */
  filters: FilterCondition[];
}

/** Whether an `X-Api-Key` has the filtered-key form (`<32 hex>-…`; hex in either case). Plain keys are 32 hex characters. */
export function isFilteredKeyForm(apiKey: string): boolean {
  return FILTERED_KEY_PREFIX.test(apiKey);
}

/**
 * Decrypts a filtered key as the Connect SDKs make them (connect-python, connect-rb, connect-java,
 * connect-net, connect-php; Connect docs, "Generating a filtered key"): AES-256-CBC with PKCS#7
 * padding, the first 32 hex characters being the IV and the rest, after the hyphen, the
 * ciphertext; the AES key is the master key's UTF-8 bytes (32 hex characters: 32 bytes).
 * @returns the plaintext (UTF-8).
 * @throws Error when the key is not of that form, the master key is not 32 bytes, the padding is
 *   wrong (OpenSSL checks every padding byte) or the plaintext is not UTF-8.
 */
export function decryptFilteredKey(apiKey: string, masterKey: string): string {
  if (apiKey.length > MAX_FILTERED_KEY_CHARS || !FILTERED_KEY.test(apiKey)) {
    throw new Error('not a filtered key');
  }
  const iv = Buffer.from(apiKey.slice(0, 32), 'hex');
  const ciphertext = Buffer.from(apiKey.slice(33), 'hex');
  const decipher = createDecipheriv('aes-256-cbc', Buffer.from(masterKey, 'utf8'), iv);
  const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
}

/**
 * Reads a decrypted key definition: `{"filters": {...}, "canQuery": bool, "canPush": bool}`.
 *
 * - `filters` is a filter of the query language (docs/query-language.md, "Filters and timeframes"; both the
 *   `{"path": value}` shorthand and the operator form), parsed by `parseFilter` with the service's
 *   limits, so a key holds at most QUERY_MAX_FILTER_CONDITIONS conditions. connect-net names it
 *   `filter` (it serialises a query: `{"filter": {...}, "canPush": …, "canQuery": …}`), so `filter`
 *   is read too; a definition with both is refused. When `canQuery` is true it must hold at least
 *   one condition: absent, `null`, `{}` and `[]` (PHP's json_encode of an empty array) are refused
 *   there (a key that may query must narrow; see docs/keys.md, "Security", for why). When
 *   `canQuery` is not true it is neither parsed nor applied, as Connect documents.
 * - `canQuery`, `canPush`: booleans; absent means false.
 * - A `timeframe` other than null, `""` or `{}` (connect-net could serialise one) is refused rather than ignored,
 *   because the key's issuer would expect it to narrow. Other keys (`select`, `groupBy`, …) are ignored.
 * Numbers keep every digit, as in the `query` parameter (`parseJsonText`).
 * @throws Error (any class) when the text is not such a definition.
 */
export function parseFilteredKeyDefinition(plaintext: string, limits: QueryLimits = DEFAULT_QUERY_LIMITS): FilteredKeyDefinition {
  const definition = doublesWhereExact(parseJsonText(plaintext));
  if (!isPlainObject(definition)) {
    throw new Error('the definition is not an object');
  }
  const flag = (name: 'canQuery' | 'canPush'): boolean => {
    const value = definition[name];
    if (isAbsent(value)) return false;
    if (typeof value !== 'boolean') throw new Error(`${name} is not a boolean`);
    return value;
  };
  const canQuery = flag('canQuery');
  const canPush = flag('canPush');
  if (!isAbsent(definition.filters) && !isAbsent(definition.filter)) {
    throw new Error('both filters and filter');
  }
  const timeframe = definition.timeframe;
  if (!isAbsent(timeframe) && timeframe !== '' && !(isPlainObject(timeframe) && Object.keys(timeframe).length === 0)) {
    throw new Error('a timeframe cannot be enforced');
  }
  if (!canQuery) {
    return { canQuery, canPush, filters: [] };
  }
  const given = isAbsent(definition.filters) ? definition.filter : definition.filters;
  const filters = parseFilter(Array.isArray(given) && given.length === 0 ? undefined : given, limits);
  if (filters.length === 0) {
    // Connect's keys carry no MAC: whoever holds one can rewrite 16 bytes of its plaintext at a block
    // boundary and drop what precedes it, which is enough for `{"filters":{}, "canQuery": true…`, but
    // not for a non-empty filter (docs/keys.md, "Security"). A key that may query must narrow.
    throw new Error('a key that can query needs at least one filter condition');
  }
  return { canQuery, canPush, filters };
}

/**
 * `decryptFilteredKey` then `parseFilteredKeyDefinition`.
 * @returns the definition, or null when any step fails (the caller answers INVALID_FILTERED_KEY_MESSAGE).
 */
export function readFilteredKey(apiKey: string, masterKey: string, limits?: QueryLimits): FilteredKeyDefinition | null {
  try {
    return parseFilteredKeyDefinition(decryptFilteredKey(apiKey, masterKey), limits);
  } catch {
    return null;
  }
}
