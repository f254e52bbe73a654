import 'dotenv/config';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { WorkerModule } from './app.module';
import { createHttpApp } from './app.setup';
import { loadConfig } from './config/app.config';
import { dataSourceOptions } from './database/data-source-options';

/** Applies pending migrations before anything serves (synchronize is never used). */
async function migrate(databaseUrl: string): Promise<void> {
  const dataSource = await new DataSource(dataSourceOptions(databaseUrl)).initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    for (const migration of applied) {
      Logger.log(`applied migration ${migration.name}`, 'Migrations');
    }
  } finally {
    await dataSource.destroy();
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
  await app.listen(config.port, '0.0.0.0');
  Logger.log(`listening on port ${config.port} of every interface (role ${config.role}); Swagger UI at /docs`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  // Configuration errors are for the operator; print them plainly.
  console.error(error.message);
  process.exit(1);
});
