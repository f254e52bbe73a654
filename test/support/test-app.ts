import { getQueueToken } from '@nestjs/bull';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bull';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createHttpApp } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/configuration';
import { EXPORT_QUEUE } from '../../src/exports/exports.constants';
import { IMPORT_QUEUE } from '../../src/imports/imports.constants';
import { ProjectsService, CreatedProject } from '../../src/projects/projects.service';

/**
 * A Redis key prefix (QUEUE_PREFIX, RATE_LIMIT_PREFIX) of this test run's own, unique to `name` and
 * this call: it starts with TEST_REDIS_PREFIX (set by global-setup), under which global-teardown
 * deletes every key the run left in the shared Redis. Random, not counted: jest runs several test
 * files in one worker process, each with a fresh module registry, and a counter restarting at 1
 * would hand a later file the rate-limit counters of an earlier one.
 */
export function testKeyPrefix(name: string): string {
  return `${process.env.TEST_REDIS_PREFIX ?? 'test'}-${name}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const TEST_SECRETS_KEY = 'test-secrets-key-0123456789abcdef0123456789';

/** A running app on a random port, as production builds it. */
export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  http: TestAgent;
  baseUrl: string;
  createProject(name?: string): Promise<CreatedProject>;
  close(): Promise<void>;
}

/** Boots the real app (role `all` unless overridden) against the test database and Redis. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({
    ...process.env,
    // A queue of this app's own, so no other test file's in-process worker takes its jobs.
    QUEUE_PREFIX: testKeyPrefix('app'),
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SECRETS_KEY: TEST_SECRETS_KEY,
    ...env,
  });
  const app = await createHttpApp(config, process.env.TEST_LOG ? ['error', 'warn', 'log'] : ['error']);
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    baseUrl,
    createProject: (name = 'test') => app.get(ProjectsService).create(name),
    close: async () => {
      await app.get<Queue>(getQueueToken(EXPORT_QUEUE)).obliterate({ force: true });
      await app.get<Queue>(getQueueToken(IMPORT_QUEUE)).obliterate({ force: true });
      await app.close();
    },
  };
}

/** Headers authenticating as `key` of `project`. */
export function auth(project: CreatedProject, key: keyof CreatedProject['keys'] = 'master'): Record<string, string> {
  return { 'X-Project-Id': project.projectId, 'X-Api-Key': project.keys[key] };
}
