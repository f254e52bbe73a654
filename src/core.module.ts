import { BullModule } from '@nestjs/bull';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { SecretBox } from './common/secret-box';
import { SecretsKeyCheck } from './common/secrets-key.check';
import { AppConfig } from './config/app.config';
import { dataSourceOptions } from './database/data-source-options';
import { processLogger } from './logging/logger';

/** Configuration, secrets, the logger, PostgreSQL and Redis connections shared by every module. */
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
        // nestjs-pino's Logger (what app.useLogger installs) over the process's pino logger. No route
        // middleware of its own: the HTTP app mounts the access log (pino-http) first of all
        // (createHttpApp), and request ids reach every line through the logger's mixin.
        LoggerModule.forRoot({ pinoHttp: { logger: processLogger(config) }, useExisting: true, forRoutes: [] }),
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
