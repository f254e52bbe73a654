import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Client } from 'pg';
import { recreateDatabase } from '../scripts/lib/databases';
import { dataSourceOptions } from '../src/database/data-source-options';
import { runMigrationsLocked } from '../src/database/migrate';
import { EXPORT_QUEUE } from '../src/exports/exports.constants';
import { IMPORT_QUEUE } from '../src/imports/imports.constants';
import { startTcpProxy } from './support/tcp-proxy';
import { startTestApp, TestApp } from './support/test-app';

/** Every migration this build has, by the name TypeORM records. */
const MIGRATIONS = (dataSourceOptions('postgres://unused').migrations as Array<{ name: string }>).map((m) => m.name);

/** An app whose Redis is a closed port: Bull keeps reconnecting, so its connections are dropped by hand. */
async function closeWithoutRedis(t: TestApp): Promise<void> {
  for (const name of [EXPORT_QUEUE, IMPORT_QUEUE]) t.app.get<Queue>(getQueueToken(name)).clients.forEach((c) => c.disconnect());
  await t.app.close();
}

describe('GET /health/ready (readiness: PostgreSQL, Redis, migrations)', () => {
  it('answers 200 with every check up when PostgreSQL and Redis answer and every migration is applied', async () => {
    const t = await startTestApp({ ROLE: 'api' });
    try {
      const res = await t.http.get('/health/ready');
      const up = { postgres: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up' } };
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { status: 'ok', info: up, error: {}, details: up } });
      expect(MIGRATIONS.length).toBeGreaterThanOrEqual(5);
      // Liveness keeps its answer.
      expect((await t.http.get('/health')).body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming redis at once when Redis refuses connections, queueing no PING for later', async () => {
    const t = await startTestApp({ ROLE: 'api', REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const started = Date.now();
      const res = await t.http.get('/health/ready');
      // Not the 1 s timeout: the client is not connected, so no PING is sent.
      expect(Date.now() - started).toBeLessThan(500);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({
        status: 'error',
        info: { postgres: { status: 'up' }, migrations: { status: 'up' } },
        error: { redis: { status: 'down', message: 'Redis could not be reached.' } },
        details: {
          postgres: { status: 'up' },
          redis: { status: 'down', message: 'Redis could not be reached.' },
          migrations: { status: 'up' },
        },
      });
      // Probes of an outage leave nothing behind in ioredis' offline queue (each PING held there until Redis is back).
      const client = t.app.get<Queue>(getQueueToken(EXPORT_QUEUE)).client as unknown as { offlineQueue: { length: number } };
      const queued = client.offlineQueue.length;
      await Promise.all(Array.from({ length: 20 }, () => t.http.get('/health/ready')));
      const liveness = await t.http.get('/health');
      expect({ status: liveness.status, body: liveness.body }).toEqual({
        status: 503,
        body: { errorMessage: 'Unhealthy: Redis not answering.' },
      });
      expect(client.offlineQueue.length).toBe(queued);
    } finally {
      await closeWithoutRedis(t);
    }
  });

  it('answers 503 naming postgres (and the unreadable migrations table) when PostgreSQL is cut off, then 200 again', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const t = await startTestApp({ ROLE: 'api', DATABASE_URL: url.toString() });
    try {
      expect((await t.http.get('/health/ready')).status).toBe(200);
      await proxy.cut();
      const res = await t.http.get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('error');
      expect(res.body.error).toEqual({
        postgres: { status: 'down', message: 'PostgreSQL could not be reached.' },
        migrations: { status: 'down', message: 'The migrations table could not be read.' },
      });
      expect(res.body.info).toEqual({ redis: { status: 'up' } });
      // Nothing about the connection (address, port, user) is in the answer.
      expect(res.text).not.toContain(String(proxy.port));
      expect(res.text).not.toContain('postgres:');
      await proxy.restore();
      expect((await t.http.get('/health/ready')).status).toBe(200);
    } finally {
      await proxy.restore();
      await t.close();
      await proxy.close();
    }
  });

  it('answers 503 naming the migration not applied', async () => {
    // A database of this test's own (global teardown drops it), migrated, then one migration's record removed.
    const database = `${new URL(process.env.DATABASE_URL!).pathname.slice(1)}_ready`;
    const url = await recreateDatabase(process.env.DATABASE_URL!, database);
    await runMigrationsLocked(url);
    const last = MIGRATIONS.at(-1)!;
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('DELETE FROM migrations WHERE name = $1', [last]);
    } finally {
      await client.end();
    }
    const t = await startTestApp({ ROLE: 'api', DATABASE_URL: url });
    try {
      const res = await t.http.get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.error).toEqual({ migrations: { status: 'down', message: '1 migration(s) not applied.', pending: [last] } });
      expect(res.body.info).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
    } finally {
      await t.close();
    }
  });
});
