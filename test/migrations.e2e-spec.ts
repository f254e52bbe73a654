import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { recreateDatabase } from '../scripts/lib/databases';
import { dataSourceOptions } from '../src/database/data-source-options';
import { TEST_SECRETS_KEY, testKeyPrefix } from './support/test-app';

const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');

/** Starts `node dist/src/main.js` as a worker on `databaseUrl`; resolves with its exit code or 'started'. */
function startProcess(databaseUrl: string, children: ChildProcess[]): Promise<'started' | number> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      ROLE: 'worker',
      DATABASE_URL: databaseUrl,
      QUEUE_PREFIX: testKeyPrefix('migrations'),
      SECRETS_KEY: TEST_SECRETS_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('export worker started')) resolve('started');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!output.includes('export worker started')) {
        process.stderr.write(output);
      }
      resolve(code ?? -1);
    });
  });
}

describe('migrations', () => {
  const children: ChildProcess[] = [];

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('let 3 processes started at the same instant on an empty database all come up, each migration applied once', async () => {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
    }
    const databaseUrl = await recreateDatabase(
      process.env.DATABASE_URL!,
      `${new URL(process.env.DATABASE_URL!).pathname.slice(1)}_migrations`,
    );
    const outcomes = await Promise.all([1, 2, 3].map(() => startProcess(databaseUrl, children)));
    expect(outcomes).toEqual(['started', 'started', 'started']);

    const dataSource = await new DataSource(dataSourceOptions(databaseUrl)).initialize();
    try {
      const rows: Array<{ name: string }> = await dataSource.query('SELECT name FROM migrations ORDER BY id');
      expect(rows.map((r) => r.name)).toEqual(dataSource.migrations.map((m) => m.name));
    } finally {
      await dataSource.destroy();
    }
  }, 60_000);

  it('and the entities describe the same schema: the schema builder has nothing to change', async () => {
    const dataSource = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!)).initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });
});
