import { BullModule } from '@nestjs/bull';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecretBox } from './common/secret-box';
import { SecretsKeyCheck } from './common/secrets-key.check';
import { AppConfig } from './config/app.config';
import { dataSourceOptions } from './database/data-source-options';

/** Configuration, secrets, PostgreSQL and Redis connections shared by every module. */
@Global()
@Module({})
export class CoreModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        // Every statement of the API runs under QUERY_STATEMENT_TIMEOUT_MS, set when each connection opens;
        // the export worker raises it for its own reads (export-runner.ts).
        TypeOrmModule.forRoot(
          dataSourceOptions(config.databaseUrl, {
            statementTimeoutMs: config.queryStatementTimeoutMs,
            connectTimeoutMs: config.databaseConnectTimeoutMs,
          }),
        ),
        BullModule.forRoot({ url: config.redisUrl, prefix: config.queuePrefix }),
      ],
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: SecretBox, useValue: new SecretBox(config.secretsKey) },
        SecretsKeyCheck,
      ],
      exports: [AppConfig, SecretBox],
    };
  }
}
