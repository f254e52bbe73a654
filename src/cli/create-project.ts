import 'dotenv/config';
import '../quiet-aws-sdk';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecretBox, SecretsKeyCheck } from '../common';
import { configModule, loadConfig } from '../config';
import { dataSourceOptions } from '../database';
import { ProjectsService } from '../projects';

/**
 * `npm run project:create -- <name>`: creates a project and prints
 * `{"projectId": "...", "name": "...", "keys": {...}}` (the keys are shown only this once).
 */
async function main(): Promise<void> {
  const name = process.argv.slice(2).join(' ').trim();
  if (!name) {
    console.error('usage: npm run project:create -- <name>');
    process.exit(2);
  }
  // What ProjectsService needs: no Redis, no HTTP settings.
  const config = loadConfig(process.env, ['database', 'secrets', 'limits']);

  @Module({
    imports: [
      configModule(config),
      TypeOrmModule.forRoot(dataSourceOptions(config.database.url, { connectTimeoutMs: config.database.connectTimeoutMs })),
    ],
    providers: [ProjectsService, { provide: SecretBox, useValue: new SecretBox(config.secrets.secretsKey) }, SecretsKeyCheck],
  })
  class CreateProjectModule {}

  const context = await NestFactory.createApplicationContext(CreateProjectModule, { logger: ['error'] });
  try {
    const created = await context.get(ProjectsService).create(name.slice(0, 200));
    console.log(JSON.stringify(created, null, 2));
  } finally {
    await context.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
