import 'dotenv/config';
import './quiet-aws-sdk';
import 'reflect-metadata';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { WorkerModule } from './app.module';
import { createHttpApp } from './app.setup';
import { HttpDrain, stopGracefullyOnSignals, type JobDrain } from './common';
import { AppConfig, loadConfig } from './config';
import { runMigrationsLocked } from './database';
import { ExportWorker } from './exports';
import { ImportWorker } from './imports';
import { createLogger, logProcessWarnings, nestLogger, processLogger } from './logging';

/** Applies pending migrations before anything serves (synchronize is never used), one process at a time. */
async function migrate(databaseUrl: string): Promise<void> {
  for (const name of await runMigrationsLocked(databaseUrl)) {
    Logger.log(`applied migration ${name}`, 'Migrations');
  }
}

/** The job queues this process works on: none for ROLE=api. */
function workersOf(app: INestApplicationContext, config: AppConfig): JobDrain[] {
  if (config.http.role === 'api') return [];
  return [app.get(ExportWorker, { strict: false }).drain, app.get(ImportWorker, { strict: false }).drain];
}

/** Starts the API and/or the export worker, as ROLE says (all | api | worker); SIGTERM or SIGINT stops it gracefully (docs/shutdown.md). */
async function bootstrap(config: AppConfig): Promise<void> {
  await migrate(config.database.url);
  if (config.http.role === 'worker') {
    const worker = await NestFactory.createApplicationContext(WorkerModule.forConfig(config), {
      bufferLogs: true,
      logger: nestLogger(processLogger(config.logging)),
    });
    worker.useLogger(worker.get(PinoNestLogger));
    stopGracefullyOnSignals({ app: worker, http: null, workers: workersOf(worker, config), graceMs: config.shutdown.shutdownGraceMs });
    Logger.log('export worker started', 'Bootstrap');
    return;
  }
  const app = await createHttpApp(config);
  const { host, port, role } = config.http;
  const http = new HttpDrain(app.getHttpServer());
  stopGracefullyOnSignals({ app, http, workers: workersOf(app, config), graceMs: config.shutdown.shutdownGraceMs });
  await app.listen(port, host);
  Logger.log(`listening on ${host} port ${port} (role ${role}); Swagger UI at /docs`, 'Bootstrap');
}

let config: AppConfig;
try {
  config = loadConfig();
} catch (error) {
  // Configuration errors are for the operator: plain text, unless LOG_FORMAT (or NODE_ENV=production) asks for JSON.
  const format = process.env.LOG_FORMAT?.trim() || (process.env.NODE_ENV?.trim() === 'production' ? 'json' : 'pretty');
  if (format === 'json') createLogger('json', 'fatal').fatal({ context: 'Bootstrap' }, (error as Error).message);
  else console.error((error as Error).message);
  process.exit(1);
}
// Every line from here on goes through the process's logger (docs/logging.md), Nest's included.
const logger = processLogger(config.logging);
Logger.overrideLogger(nestLogger(logger));
logProcessWarnings(logger, config.logging.logFormat);
bootstrap(config).catch((error: unknown) => {
  logger.fatal({ context: 'Bootstrap' }, `could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
