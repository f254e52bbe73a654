import 'dotenv/config';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './app.module';
import { createHttpApp } from './app.setup';
import { loadConfig } from './config/app.config';
import { runMigrationsLocked } from './database/migrate';

/** Applies pending migrations before anything serves (synchronize is never used), one process at a time. */
async function migrate(databaseUrl: string): Promise<void> {
  for (const name of await runMigrationsLocked(databaseUrl)) {
    Logger.log(`applied migration ${name}`, 'Migrations');
  }
}

/** Starts the API and/or the export worker, as ROLE says (all | api | worker). */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  await migrate(config.databaseUrl);
  if (config.role === 'worker') {
    const worker = await NestFactory.createApplicationContext(WorkerModule.forConfig(config));
    worker.enableShutdownHooks();
    Logger.log('export worker started', 'Bootstrap');
    return;
  }
  const app = await createHttpApp(config);
  await app.listen(config.port, config.host);
  Logger.log(`listening on ${config.host} port ${config.port} (role ${config.role}); Swagger UI at /docs`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  // Configuration errors are for the operator; print them plainly.
  console.error(error.message);
  process.exit(1);
});
