/**
 * SQL expression rendering an events row (alias `alias`) as the exported JSON text:
 * `{"id": …, "timestamp": "2015-07-28T00:00:30.295Z", …properties}` (Connect docs, "Exporting events"), spaced
 * like PostgreSQL's jsonb output throughout. Built in PostgreSQL so exports stream text without
 * parsing events in Node.
 */
export function eventJsonSql(alias: string): string {
  return `'{"id": ' || ${alias}.event_id::text || ', "timestamp": "'
    || to_char(${alias}."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"'
    || CASE WHEN ${alias}.properties = '{}'::jsonb THEN '}' ELSE ', ' || substr(${alias}.properties::text, 2) END`;
}
