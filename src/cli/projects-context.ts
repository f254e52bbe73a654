import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecretBox, SecretsKeyCheck } from '../common';
import { configModule, loadConfig } from '../config';
import { dataSourceOptions } from '../database';
import { ProjectsService } from '../projects';

/**
 * Runs `work` with a ProjectsService over the database of DATABASE_URL, for the project CLIs
 * (create, reset keys): only the sections it needs are loaded (database, secrets, limits; no Redis,
 * no HTTP), SECRETS_KEY is checked against the database, and the context is closed afterwards.
 * @throws Error for invalid configuration (every problem listed) or a SECRETS_KEY of another database.
 */
export async function withProjectsService<T>(work: (projects: ProjectsService) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, ['database', 'secrets', 'limits']);

  @Module({
    imports: [
      configModule(config),
      TypeOrmModule.forRoot(dataSourceOptions(config.database.url, { connectTimeoutMs: config.database.connectTimeoutMs })),
    ],
    providers: [ProjectsService, { provide: SecretBox, useValue: new SecretBox(config.secrets.secretsKey) }, SecretsKeyCheck],
  })
  class ProjectsCliModule {}

  const context = await NestFactory.createApplicationContext(ProjectsCliModule, { logger: ['error'] });
  try {
    return await work(context.get(ProjectsService));
  } finally {
    await context.close();
  }
}
