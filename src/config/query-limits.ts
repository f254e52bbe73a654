/**
 * Caps on what one query document may ask for, checked by the parsers before any SQL is built
 * (configurable: QUERY_MAX_FILTER_CONDITIONS, QUERY_MAX_IN_VALUES, QUERY_MAX_DOCUMENT_CHARS).
 */
export interface QueryLimits {
  /** Most filter conditions (property paths × operators; a scalar or array shorthand is one). */
  maxFilterConditions: number;
  /** Most values in one `in` list (bound as one array parameter, so this bounds work, not parameters). */
  maxInValues: number;
  /** Longest query document, in characters (UTF-16 code units): the `query` parameter, or the S3 export body's `query`. */
  maxDocumentChars: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxFilterConditions: 100, maxInValues: 1_000, maxDocumentChars: 16_384 };

/**
 * Highest value QUERY_MAX_FILTER_CONDITIONS may be configured to. A condition binds at most two
 * parameters (its path and its operand; an `in` list is one array), and everything else of a
 * statement binds at most 125 (project, collection, timeframe bounds, bucket starts as one array,
 * row limit, 100 select paths, 20 groupBy paths), so 2 × 10,000 + 125 stays far below
 * POSTGRES_MAX_BIND_PARAMETERS (query/query.constants.ts) whatever the configuration.
 */
export const MAX_CONFIGURABLE_FILTER_CONDITIONS = 10_000;
