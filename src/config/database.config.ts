import { defineSection } from './section';
import { Milliseconds, UrlOf } from './variables';

/** PostgreSQL: where it is, how long to wait for a connection, and how long a statement may run. */
export class DatabaseVariables {
  @UrlOf(['postgres:', 'postgresql:'], 'postgres://user:password@127.0.0.1:5432/connect')
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/connect';

  @Milliseconds(100)
  DATABASE_CONNECT_TIMEOUT_MS = 2000;

  @Milliseconds(0)
  QUERY_STATEMENT_TIMEOUT_MS = 10_000;

  @Milliseconds(0)
  EXPORT_STATEMENT_TIMEOUT_MS = 600_000;
}

export interface DatabaseConfig {
  /** PostgreSQL connection URL (`postgres://` or `postgresql://`). */
  url: string;
  /** Longest wait for a PostgreSQL connection (a new one, or a free one of the pool) before the statement fails, ms. */
  connectTimeoutMs: number;
  /**
   * `statement_timeout` of every API statement, ms (queries, exports' reads in the API, the S3 export's
   * count, key lookups, pushes); set on each connection of the API's pools. 0 = none.
   */
  queryStatementTimeoutMs: number;
  /** `statement_timeout` of the worker's reads (an export's size pass and cursor, an import's batches), ms, set per transaction. 0 = none. */
  exportStatementTimeoutMs: number;
}

/** DATABASE_URL, DATABASE_CONNECT_TIMEOUT_MS, QUERY_STATEMENT_TIMEOUT_MS, EXPORT_STATEMENT_TIMEOUT_MS (docs/configuration.md). */
export const databaseConfig = defineSection('database', DatabaseVariables, (v): DatabaseConfig => ({
  url: v.DATABASE_URL,
  connectTimeoutMs: v.DATABASE_CONNECT_TIMEOUT_MS,
  queryStatementTimeoutMs: v.QUERY_STATEMENT_TIMEOUT_MS,
  exportStatementTimeoutMs: v.EXPORT_STATEMENT_TIMEOUT_MS,
}));
