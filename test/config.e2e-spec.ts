import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_SECRETS_KEY, testKeyPrefix } from './support/test-app';

const DIST = join(__dirname, '..', 'dist', 'src');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node dist/src/<script>` with `env` over the test environment; kills it after `timeoutMs`. */
function run(script: string, env: Record<string, string>, timeoutMs = 15_000, args: string[] = []): Promise<Outcome> {
  const path = join(DIST, script);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`npm run build\` first (npm test does).`);
  }
  const started = Date.now();
  const child = spawn(process.execPath, [path, ...args], {
    env: { ...process.env, QUEUE_PREFIX: testKeyPrefix('config'), SECRETS_KEY: TEST_SECRETS_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('configuration errors stop a process at start', () => {
  it('`ROLE=worker REDIS_URL=nope node dist/src/main.js` exits 1 at once, saying what is wrong', async () => {
    const outcome = await run('main.js', { ROLE: 'worker', REDIS_URL: 'nope' });
    expect(outcome).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Invalid configuration:\n  - REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379\n',
      ms: expect.any(Number),
    });
    // Before anything connects: no migration, no Redis (a worker with a bad REDIS_URL used to run on, logging nothing).
    expect(outcome.ms).toBeLessThan(5000);
  });

  it('lists every problem of every section at once, repeating neither a URL nor a secret', async () => {
    const outcome = await run('main.js', {
      ROLE: 'api',
      DATABASE_URL: 'mysql://root:hunter2@127.0.0.1/connect',
      RATE_LIMIT_REDIS_URL: 'http://127.0.0.1:6379',
      SECRETS_KEY: 'hunter2',
      EXPORT_PART_SIZE_BYTES: '1024',
    });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toBe(
      'Invalid configuration:\n' +
        '  - DATABASE_URL must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@127.0.0.1:5432/connect\n' +
        '  - SECRETS_KEY must be set to a random string of at least 32 characters (e.g. `openssl rand -hex 32`)\n' +
        '  - EXPORT_PART_SIZE_BYTES must be an integer from 5242880 to 1073741824\n' +
        '  - RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379\n',
    );
  });

  it('`npm run migration:run` reads only the database section: no SECRETS_KEY needed, a bad REDIS_URL ignored', async () => {
    const outcome = await run('cli/migrate.js', { SECRETS_KEY: '', REDIS_URL: 'nope' });
    expect(outcome).toMatchObject({ code: 0, stdout: 'no pending migrations\n', stderr: '' });
  });

  it('`npm run migration:run` refuses a DATABASE_URL that is not PostgreSQL', async () => {
    const outcome = await run('cli/migrate.js', { SECRETS_KEY: '', DATABASE_URL: 'redis://127.0.0.1:6379' });
    expect(outcome).toMatchObject({
      code: 1,
      stderr:
        'Invalid configuration:\n  - DATABASE_URL must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@127.0.0.1:5432/connect\n',
    });
  });

  it('set-up claims a database for its SECRETS_KEY (ensure-database --claim), so a second checkout set up before the first ever ran is turned away', async () => {
    // Before the claim existed, a database was taken only when a service first started on it, so two
    // checkouts set up one after the other both chose the default database.
    const name = `connect_claim_${process.pid}`;
    const url = new URL(process.env.DATABASE_URL ?? '');
    url.pathname = `/${name}`;
    const DATABASE_URL = url.toString();
    const first = { DATABASE_URL, SECRETS_KEY: 'a'.repeat(40) };
    const second = { DATABASE_URL, SECRETS_KEY: 'b'.repeat(40) };
    try {
      expect(await run('cli/ensure-database.js', first)).toMatchObject({ code: 0, stdout: `created database ${name}\n` });
      expect(await run('cli/migrate.js', first)).toMatchObject({ code: 0 });
      expect(await run('cli/ensure-database.js', second)).toMatchObject({ code: 0 }); // nothing claimed yet
      expect(await run('cli/ensure-database.js', first, 15_000, ['--claim'])).toMatchObject({ code: 0, stderr: '' });
      const refused = { code: 4, stderr: `database ${name} belongs to a deployment with another SECRETS_KEY\n` };
      expect(await run('cli/ensure-database.js', second)).toMatchObject(refused);
      expect(await run('cli/ensure-database.js', second, 15_000, ['--claim'])).toMatchObject(refused);
      expect(await run('cli/ensure-database.js', first, 15_000, ['--claim'])).toMatchObject({ code: 0, stderr: '' });
    } finally {
      const admin = new Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.end();
    }
  });
});
