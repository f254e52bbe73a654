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
 * `npm run project:reset-keys -- <projectId>`: replaces the project's four keys, as
 * `POST /projects/:projectId/keys/reset` does (docs/keys.md, "Resetting keys"), and prints
 * `{"projectId": "...", "name": "...", "keys": {...}}` (the new keys are shown only this once).
 * Exit status 2 without a project id, 1 when there is no such project (or on any other error).
 */
async function main(): Promise<void> {
  const args = process.argv
    .slice(2)
    .map((arg) => arg.trim())
    .filter(Boolean);
  if (args.length !== 1) {
    console.error('usage: npm run project:reset-keys -- <projectId>');
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
  class ResetProjectKeysModule {}

  const context = await NestFactory.createApplicationContext(ResetProjectKeysModule, { logger: ['error'] });
  try {
    const reset = await context.get(ProjectsService).resetKeys(args[0]);
    if (!reset) {
      console.error(`No project '${args[0].slice(0, 64)}'.`);
      process.exitCode = 1;
      return;
    }
    console.log(JSON.stringify(reset, null, 2));
  } finally {
    await context.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
