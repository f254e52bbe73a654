import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EXPORT_QUEUE } from '../src/exports/exports.constants';
import { auth, startTestApp, TEST_SECRETS_KEY } from './support/test-app';

const CLI = join(__dirname, '..', 'dist', 'src', 'cli', 'create-project.js');
const RESET_CLI = join(__dirname, '..', 'dist', 'src', 'cli', 'reset-project-keys.js');

describe('operations', () => {
  it('GET /health answers 503 when Redis does not answer', async () => {
    const t = await startTestApp({ ROLE: 'api', REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await t.http.get('/health');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ errorMessage: 'Unhealthy: Redis not answering.' });
    } finally {
      // Bull keeps trying to reach the dead Redis; drop its connections so the process can exit.
      const queue = t.app.get<Queue>(getQueueToken(EXPORT_QUEUE));
      queue.clients.forEach((client) => client.disconnect());
      await t.app.close();
    }
  });

  it('`npm run project:create -- <name>` creates a project whose keys work', async () => {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
    }
    const t = await startTestApp();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'My', 'shop'], {
        env: { ...process.env, DATABASE_URL: t.config.database.url, SECRETS_KEY: TEST_SECRETS_KEY },
      });
      const created = JSON.parse(stdout);
      expect(created).toEqual({
        projectId: expect.stringMatching(/^[0-9a-f]{24}$/),
        name: 'My shop',
        keys: { master: expect.any(String), pushQuery: expect.any(String), push: expect.any(String), query: expect.any(String) },
      });
      const res = await t.http.post('/events/cli').set(auth(created, 'push')).send({ a: 1 });
      expect(res.status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('`npm run project:reset-keys -- <projectId>` replaces the keys (old ones 401); an unknown project exits 1', async () => {
    const t = await startTestApp();
    try {
      const env = { ...process.env, DATABASE_URL: t.config.database.url, SECRETS_KEY: TEST_SECRETS_KEY };
      const project = await t.createProject('reset-cli');
      const { stdout } = await promisify(execFile)(process.execPath, [RESET_CLI, project.projectId], { env });
      const reset = JSON.parse(stdout) as typeof project;
      expect(reset).toEqual({ projectId: project.projectId, name: 'reset-cli', keys: expect.any(Object) });
      expect(reset.keys.push).not.toBe(project.keys.push);
      expect((await t.http.post('/events/cli').set(auth(project, 'push')).send({ a: 1 })).status).toBe(401);
      expect((await t.http.post('/events/cli').set(auth(reset, 'push')).send({ a: 1 })).status).toBe(200);
      await expect(promisify(execFile)(process.execPath, [RESET_CLI, 'ffffffffffffffffffffffff'], { env })).rejects.toMatchObject({
        code: 1,
        stderr: "No project 'ffffffffffffffffffffffff'.\n",
      });
    } finally {
      await t.close();
    }
  });

  it('refuses to start without SECRETS_KEY, listing the problem', async () => {
    await expect(startTestApp({ SECRETS_KEY: 'short' })).rejects.toThrow(
      /SECRETS_KEY must be set to a random string of at least 32 characters/,
    );
  });

  it('refuses to start with a SECRETS_KEY other than the one the database was set up with', async () => {
    await (await startTestApp()).close(); // the database now holds the canary of TEST_SECRETS_KEY
    await expect(startTestApp({ SECRETS_KEY: 'another-secrets-key-of-at-least-32-characters' })).rejects.toThrow(
      /SECRETS_KEY is not the key this database was set up with/,
    );
  });
});
