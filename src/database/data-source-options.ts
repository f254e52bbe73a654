import type { DataSourceOptions } from 'typeorm';
import { Init1764470000000 } from '../../migrations/1764470000000-Init';
import { InstanceSettings1764480000000 } from '../../migrations/1764480000000-InstanceSettings';
import { ExportsV21764490000000 } from '../../migrations/1764490000000-ExportsV2';
import { ExportOwnership1764500000000 } from '../../migrations/1764500000000-ExportOwnership';
import { EventImports1764510000000 } from '../../migrations/1764510000000-EventImports';
import { Export } from '../exports';
import { ApiKey, Project } from '../projects';
import { QUERY_ANSWER_MARGIN_MS } from '../common';
import { ClosingOnTimeoutClient } from './closing-client';

/**
 * The one TypeORM configuration, used by the app (TypeOrmModule), the CLI (ormconfig.ts) and the
 * tests. Migrations only: `synchronize` is never on. Migrations are listed as classes (not a glob)
 * so the same list works from `src/` under jest and from `dist/`.
 * @param options.statementTimeoutMs `statement_timeout` of every connection of the pool, ms (the
 *   API's QUERY_STATEMENT_TIMEOUT_MS); 0 (migrations, CLI) = none.
 *   A query whose answer has not arrived `QUERY_ANSWER_MARGIN_MS` after that (PostgreSQL frozen, or
 *   its bytes lost on an open connection) fails on the client side too, and its connection is
 *   closed (`ClosingOnTimeoutClient`).
 * @param options.connectTimeoutMs how long a statement waits for a connection, new or free in the
 *   pool, before it fails (DATABASE_CONNECT_TIMEOUT_MS; pg's default is forever).
 */
export function dataSourceOptions(
  databaseUrl: string,
  { statementTimeoutMs = 0, connectTimeoutMs = 2000 }: { statementTimeoutMs?: number; connectTimeoutMs?: number } = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: [Project, ApiKey, Export],
    migrations: [
      Init1764470000000,
      InstanceSettings1764480000000,
      ExportsV21764490000000,
      ExportOwnership1764500000000,
      EventImports1764510000000,
    ],
    migrationsTableName: 'migrations',
    synchronize: false,
    extra: {
      max: 20,
      statement_timeout: statementTimeoutMs || undefined,
      query_timeout: statementTimeoutMs ? statementTimeoutMs + QUERY_ANSWER_MARGIN_MS : undefined,
      Client: ClosingOnTimeoutClient,
      connectionTimeoutMillis: connectTimeoutMs,
    },
  };
}
