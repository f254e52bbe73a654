import { BullModule } from '@nestjs/bull';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { SecretBox, SecretsKeyCheck } from './common';
import { AppConfig, configModule } from './config';
import { dataSourceOptions } from './database';
import { processLogger } from './logging';

/** Configuration (each section under its token, e.g. `exportsConfig.KEY`), secrets, the logger, PostgreSQL and Redis connections shared by every module. */
@Global()
@Module({})
export class CoreModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        configModule(config),
        // Every statement of the API runs under QUERY_STATEMENT_TIMEOUT_MS, set when each connection opens;
        // the export worker raises it for its own reads (export-runner.ts).
        TypeOrmModule.forRoot(
          dataSourceOptions(config.database.url, {
            statementTimeoutMs: config.database.queryStatementTimeoutMs,
            connectTimeoutMs: config.database.connectTimeoutMs,
          }),
        ),
        BullModule.forRoot({ url: config.redis.url, prefix: config.redis.queuePrefix }),
        // nestjs-pino's Logger (what app.useLogger installs) over the process's pino logger. No route
        // middleware of its own: the HTTP app mounts the access log (pino-http) first of all
        // (createHttpApp), and request ids reach every line through the logger's mixin.
        LoggerModule.forRoot({ pinoHttp: { logger: processLogger(config.logging) }, useExisting: true, forRoutes: [] }),
      ],
      providers: [{ provide: SecretBox, useValue: new SecretBox(config.secrets.secretsKey) }, SecretsKeyCheck],
      exports: [SecretBox],
    };
  }
}
