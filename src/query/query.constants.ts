/** Most result rows one query may return: groups, intervals, or groups across intervals (Connect docs, "Query errors"). */
export const MAX_QUERY_RESULTS = 10_000;

/**
 * Most aliases in `select` and properties in `groupBy` (Connect docs, "Aggregations", "Group by" set none). Far above
 * any dashboard's needs, and far below PostgreSQL's 1,664 result columns, which a URL of 16 KB could
 * otherwise exceed with a 500.
 */
export const MAX_SELECT_ALIASES = 100;
export const MAX_GROUP_BY_PROPERTIES = 20;

/** PostgreSQL's most bind parameters in one statement (the protocol's Int16 count). */
export const POSTGRES_MAX_BIND_PARAMETERS = 32_767;
