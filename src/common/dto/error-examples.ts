/**
 * The example bodies of the error responses in the OpenAPI document (Swagger UI at /docs): each is
 * the body the API really answers in that case, copied from a live answer and checked against one by
 * test/openapi-examples.e2e-spec.ts. Numbers that come from configuration are the defaults of
 * .env.example (e.g. RATE_LIMIT_PUSHES=60000); ids and collection names are those of the
 * documented path parameter examples (`purchases`, `55b80dd4eb6742481c62c05e`).
 *
 * Keys are unique over the whole document, so an example keeps its name wherever it is used.
 */

/** One named example of a response body (OpenAPI Example Object). */
export interface ErrorExample {
  summary: string;
  value: { errorMessage: string } | { errors: Array<{ field: string; description: string }> };
}

const message = (summary: string, errorMessage: string): ErrorExample => ({ summary, value: { errorMessage } });
const fields = (summary: string, ...errors: Array<[field: string, description: string]>): ErrorExample => ({
  summary,
  value: { errors: errors.map(([field, description]) => ({ field, description })) },
});

export const ERROR_EXAMPLES = {
  // --- 400 ---------------------------------------------------------------------------------------
  invalidJson: message('The body is not JSON (here: `{"name": `)', 'The request body is not valid JSON: Unexpected end of JSON input.'),
  tooDeep: message('The body nests objects or arrays more than 100 levels deep', 'The request body is nested more than 100 levels deep.'),
  notUtf8: message(
    'A charset other than UTF-8 (`Content-Type: application/json; charset=latin1`)',
    'The request body must be UTF-8 encoded JSON.',
  ),
  eventNotObject: message('The body is not a JSON object (here: `[1]`)', 'An event must be a JSON object.'),
  reservedTp: message('A property named `tp_…`', 'Property names starting with tp_ are reserved and cannot be set.'),
  reservedId: message('A property named `_id`', 'The property name _id is reserved and cannot be set.'),
  batchNotObject: message(
    'The body is not an object of collections (here: `[]`)',
    'A batch must be a JSON object mapping collection names to arrays of events.',
  ),
  batchNotArray: message(
    'A collection\'s value is not an array (here: `{"purchases": {}}`)',
    "The value of collection 'purchases' must be an array of events.",
  ),

  // --- 401 ---------------------------------------------------------------------------------------
  missingCredentials: message(
    'No X-Project-Id or no X-Api-Key header',
    'Unauthorised. Please check your Project Id and API Key (headers X-Project-Id and X-Api-Key).',
  ),
  wrongCredentials: message(
    'Unknown project id, or a key that is not one of the project',
    'Unauthorised. Please check your Project Id and API Key.',
  ),
  invalidFilteredKey: message(
    "A key of the filtered form that is not encrypted with the project's master key",
    "Unauthorised. The filtered API key is invalid: it is not a key definition encrypted with this project's master key.",
  ),
  wrongAdminToken: message('No X-Admin-Token header, or a wrong one', 'Missing or wrong X-Admin-Token.'),

  // --- 403 ---------------------------------------------------------------------------------------
  cannotPush: message('A query key (or a filtered key without `"canPush": true`)', 'This API key is not allowed to push events.'),
  cannotQuery: message(
    'A push key (or a filtered key without `"canQuery": true`)',
    'This API key is not allowed to query or export events.',
  ),
  notMasterKey: message('Any key but the master key', 'This API key is not allowed to administer this project (master key only).'),
  adminDisabled: message('ADMIN_TOKEN is not set', 'Admin endpoints are disabled. Set ADMIN_TOKEN to enable them.'),

  // --- 404 ---------------------------------------------------------------------------------------
  exportNotFound: message(
    'No export with this id in this collection of the project',
    "No export '55b80dd4eb6742481c62c05e' in collection 'purchases'.",
  ),
  importNotFound: message('No import with this id in the project', "No import '55b80dd4eb6742481c62c05e'."),
  collectionNotFound: message('The project has no event in the collection', "No collection 'purchases' in this project."),
  projectNotFound: message('No project with this id', "No project '559de2011f2ddd1860bd29fb'."),

  // --- 409 ---------------------------------------------------------------------------------------
  exportFinished: message(
    'The export is already Complete or Failed (e.g. cancelled before)',
    "Export '55b80dd4eb6742481c62c05e' has already finished; only Pending or Running exports can be cancelled.",
  ),
  importFinished: message(
    'The import is already Complete or Failed (e.g. cancelled before)',
    "Import '55b80dd4eb6742481c62c05e' has already finished; only Pending or Running imports can be cancelled.",
  ),

  // --- 413 ---------------------------------------------------------------------------------------
  bodyTooLarge: message("The body (or its declared Content-Length) is over the endpoint's limit", 'The request body is too large.'),
  eventTooLarge: message('The event is over 64 KB as stored', 'Maximum event size of 64kb exceeded.'),
  batchTooLarge: message('More than 5,000 events in the batch (here: 5,001)', 'Maximum batch size of 5000 events exceeded (got 5001).'),
  tooManyResults: message(
    'The query would return more than 10,000 result rows (e.g. groups)',
    'The query would return more than 10,000 results; narrow the timeframe or filter, or group by fewer properties.',
  ),
  tooManyBuckets: message(
    'The interval splits the timeframe into more than 10,000 buckets',
    'The interval splits the timeframe into more than 10,000 buckets; use a longer interval or a shorter timeframe.',
  ),
  tooManyEventsToStream: message(
    'More than 10,000 events match',
    'The query matched more than 10,000 events. Export them to Amazon S3 instead (POST /events/:collection/export, up to 1,000,000 events).',
  ),
  tooManyEventsToExport: message(
    'More than 1,000,000 events match',
    'The query matched more than 1,000,000 events, the most one export can hold. Narrow the timeframe or filter and export in several parts.',
  ),

  // --- 415 ---------------------------------------------------------------------------------------
  compressedBody: message(
    'A `Content-Encoding` other than `identity` (here: gzip)',
    'Compressed request bodies are not supported: send the JSON without a Content-Encoding.',
  ),

  // --- 422 (one entry per invalid field) -----------------------------------------------------------
  invalidCollection: fields('A collection name with a `/` (here: `a%2Fb`)', [
    'collection',
    "Collection names cannot contain control characters or '/'.",
  ]),
  invalidEvent: fields(
    'An id that is an object, a timestamp that is not ISO-8601 and a property name with a `.` (here: `{"id": {"a": 1}, "timestamp": "yesterday", "a.b": 1}`)',
    ['id', 'The id must be a non-empty string of at most 255 characters, or an integer of at most 2^53 - 1 in magnitude.'],
    ['timestamp', 'The timestamp must be an ISO-8601 date-time, e.g. 2015-02-05T14:55:56.587Z.'],
    ['a.b', "Property names cannot contain '.'."],
  ),
  invalidQueryJson: fields('The `query` parameter is not JSON (here: `not json`)', ['query', 'The query JSON supplied is not valid.']),
  invalidQuery: fields(
    'A sum of a number instead of a property path, and an unknown timeframe (here: `{"select": {"total": {"sum": 5}}, "timeframe": "last_fortnight"}`)',
    ['select.total', 'The property path must be a string, not 5.'],
    [
      'timeframe',
      "Unknown timeframe 'last_fortnight'. Expected a named timeframe (this_minute, last_minute, this_hour, last_hour, today, " +
        'yesterday, this_week, last_week, this_month, last_month, this_quarter, last_quarter, this_year, last_year), ' +
        '{"current": {"<unit>": N}}, {"previous": {"<unit>": N}} (unit one of minutes, hours, days, weeks, months, quarters, years; ' +
        'N a positive integer), or {"start": "<ISO-8601>", "end": "<ISO-8601>"}.',
    ],
  ),
  invalidSmallExportQuery: fields('A query with `select` (here: `{"select": {"n": "count"}}`)', [
    'select',
    'Exports support only filter and timeframe; remove "select".',
  ]),
  invalidS3Export: fields('An s3Path that is not an S3 location (here: `ftp://examples-bucket/exports/`)', [
    's3Path',
    's3Path must be s3://<bucket>/<prefix>, an Amazon S3 URL (https://<bucket>.s3.amazonaws.com/<prefix>, ' +
      'https://<bucket>.s3.<region>.amazonaws.com/<prefix>, https://s3.<region>.amazonaws.com/<bucket>/<prefix>) or a ' +
      'path-style URL of an endpoint listed in S3_ALLOWED_ENDPOINTS.',
  ]),
  invalidExportListLimit: fields('`limit=0`', ['limit', 'limit must be an integer from 1 to 100']),
  invalidImport: fields('An s3Path that names a bucket, not an object (here: `s3://examples-bucket/`)', [
    's3Path',
    's3Path must name an object (s3://<bucket>/<key>, e.g. s3://mybucket/purchases.json), not a bucket or a folder.',
  ]),
  invalidProjectName: fields('No `name` (here: `{}`)', ['name', 'name must be a string']),
  invalidProjectListLimit: fields('`limit=0`', ['limit', 'limit must be an integer from 1 to 100']),

  // --- 429 ---------------------------------------------------------------------------------------
  tooManyFailedAuthentications: message(
    'RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS failed authentications from this address (or per credential) within the window',
    'Too many failed authentication attempts. Try again in 600 s.',
  ),
  tooManyPushes: message(
    'RATE_LIMIT_PUSHES push requests of this project within RATE_LIMIT_WINDOW_SECONDS',
    'Too many push requests for this project (at most 60000 per 60 s). Try again in 60 s.',
  ),
  tooManyQueries: message(
    'RATE_LIMIT_QUERIES queries (monitor reads, cancellations, listings) of this project within RATE_LIMIT_WINDOW_SECONDS',
    'Too many queries for this project (at most 6000 per 60 s). Try again in 60 s.',
  ),
  tooManySmallExports: message(
    'RATE_LIMIT_SMALL_EXPORTS small exports of this project within RATE_LIMIT_WINDOW_SECONDS',
    'Too many exports for this project (at most 600 per 60 s). Try again in 60 s.',
  ),
  tooManyS3Exports: message(
    'RATE_LIMIT_S3_EXPORTS S3 exports started by this project within RATE_LIMIT_WINDOW_SECONDS',
    'Too many S3 exports for this project (at most 60 per 60 s). Try again in 60 s.',
  ),
  tooManyPendingExports: message(
    'EXPORT_MAX_PENDING_PER_PROJECT exports of the project are Pending or Running (Retry-After: 30)',
    'This project already has 20 unfinished S3 exports (Pending or Running), the most it may have at once. ' +
      'Wait for one to finish, or cancel one (DELETE /events/:collection/export/:id), then try again.',
  ),
  tooManyPendingImports: message(
    'IMPORT_MAX_PENDING_PER_PROJECT imports of the project are Pending or Running',
    'This project already has 5 unfinished imports (Pending or Running), the most it may have at once. ' +
      'Wait for one to finish, or cancel one (DELETE /event-import/:id), then try again.',
  ),

  // --- 503 ---------------------------------------------------------------------------------------
  dependencyUnavailable: message(
    'PostgreSQL (or Redis) does not answer (Retry-After: 5)',
    'The service cannot reach its database or queue right now; try again shortly.',
  ),
  statementTimeout: message(
    'A statement ran longer than QUERY_STATEMENT_TIMEOUT_MS (Retry-After says when to try again)',
    'The request took longer than the database statement timeout allows. For a query or an export, narrow the ' +
      'timeframe or the filter, or group by fewer properties (or fewer, longer intervals); then try again.',
  ),
  streamsBusy: message(
    'EXPORT_STREAM_CONNECTIONS small exports are streaming at once',
    'Too many exports are being streamed right now; try again in a moment.',
  ),
  unhealthyPostgres: message('PostgreSQL does not answer within 2 s (Retry-After: 5)', 'Unhealthy: PostgreSQL not answering.'),
  unhealthyRedis: message('Redis does not answer within 2 s (Retry-After: 5)', 'Unhealthy: Redis not answering.'),
} satisfies Record<string, ErrorExample>;

export type ErrorExampleName = keyof typeof ERROR_EXAMPLES;

/** The named examples of a response (`examples` of an `@Api…Response` decorator), from ERROR_EXAMPLES and route-specific ones. */
export function errorExamples(...named: Array<ErrorExampleName | Record<string, ErrorExample>>): Record<string, ErrorExample> {
  return Object.assign({}, ...named.map((n) => (typeof n === 'string' ? { [n]: ERROR_EXAMPLES[n] } : n))) as Record<string, ErrorExample>;
}
