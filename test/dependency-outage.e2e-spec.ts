import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import Redis from 'ioredis';
import type request from 'supertest';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, waitForExport } from './support/exports';
import { startTestRedis, TestRedis } from './support/redis-server';
import { startS3Server, TestS3Server } from './support/s3-server';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TestApp } from './support/test-app';

/** The promised bound on any answer while PostgreSQL or Redis is down, ms (docs/limits.md; docs/operations.md, "When PostgreSQL or Redis is down"). */
const ANSWER_BOUND_MS = 5000;
const UNAVAILABLE = { errorMessage: 'The service cannot reach its database or queue right now; try again shortly.' };

/** Sends `req` (failing instead of hanging past 15 s) and returns its answer and how long it took. */
async function timed(req: request.Test): Promise<{ res: request.Response; ms: number }> {
  const started = Date.now();
  const res = await req.timeout(15_000);
  return { res, ms: Date.now() - started };
}

/** An API-only app whose PostgreSQL is behind a proxy the test controls, with one project and one event. */
async function startBehindProxy(env: Record<string, string>): Promise<{ proxy: TcpProxy; t: TestApp; project: CreatedProject }> {
  const url = new URL(process.env.DATABASE_URL!);
  const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const t = await startTestApp({ ROLE: 'api', DATABASE_URL: url.toString(), ...env });
  const project = await t.createProject();
  await t.http.post('/events/shop').set(auth(project, 'push')).send({ n: 1 }).expect(200);
  return { proxy, t, project };
}

async function stopBehindProxy(proxy: TcpProxy, t: TestApp): Promise<void> {
  await proxy.restore();
  await t.close();
  await proxy.close();
}

describe('PostgreSQL unreachable (the app reaches it through a proxy the test cuts)', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let project: CreatedProject;
  const count = JSON.stringify({ select: { n: 'count' } });

  beforeAll(async () => {
    ({ proxy, t, project } = await startBehindProxy({}));
  });
  afterAll(() => stopBehindProxy(proxy, t));

  async function expectUnavailableEverywhere(): Promise<void> {
    // Push and query fail in the auth guard's key lookup, the first statement of the request.
    for (const req of [
      t.http.post('/events/shop').set(auth(project, 'push')).send({ n: 2 }),
      t.http.get('/events/shop').query({ query: count }).set(auth(project, 'query')),
    ]) {
      const { res, ms } = await timed(req);
      expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({
        status: 503,
        body: UNAVAILABLE,
        retryAfter: '5',
      });
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
    }
    const { res, ms } = await timed(t.http.get('/health'));
    expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({
      status: 503,
      body: { errorMessage: 'Unhealthy: PostgreSQL not answering.' },
      retryAfter: '5',
    });
    expect(ms).toBeLessThan(ANSWER_BOUND_MS);
  }

  async function expectRecovered(): Promise<void> {
    await t.http.post('/events/shop').set(auth(project, 'push')).send({ n: 2 }).expect(200);
    const query = await t.http.get('/events/shop').query({ query: count }).set(auth(project, 'query'));
    expect(query.status).toBe(200);
    expect((await t.http.get('/health')).body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
  }

  it('connections refused and dropped: 503 with Retry-After at once, and it recovers when PostgreSQL is back', async () => {
    await proxy.cut();
    await expectUnavailableEverywhere();
    await proxy.restore();
    await expectRecovered();
  }, 60_000);

  it('connections that are never answered: 503 with Retry-After within the bound, and it recovers', async () => {
    await proxy.blackhole();
    await expectUnavailableEverywhere();
    await proxy.restore();
    await expectRecovered();
  }, 60_000);
});

/**
 * PostgreSQL that stops answering on connections already open (a frozen host, a network losing
 * its packets): no reset arrives, and statement_timeout inside PostgreSQL cannot help. Such
 * requests hung, and the dead connections stayed in the pool, so the service answered 503 long
 * after PostgreSQL was back. Now a query fails on the client side QUERY_STATEMENT_TIMEOUT_MS + 2 s
 * after it was sent, and its connection is closed.
 */
describe('PostgreSQL frozen on open connections (the proxy keeps them but drops their bytes)', () => {
  const STATEMENT_TIMEOUT_MS = 1000;
  let proxy: TcpProxy;
  let t: TestApp;
  let project: CreatedProject;
  const count = JSON.stringify({ select: { n: 'count' } });
  const query = () => t.http.get('/events/shop').query({ query: count }).set(auth(project, 'query'));

  beforeAll(async () => {
    ({ proxy, t, project } = await startBehindProxy({ QUERY_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) }));
  });
  afterAll(() => stopBehindProxy(proxy, t));

  it('answers 503 with Retry-After once the query outlives its timeout, and recovers when PostgreSQL answers again', async () => {
    // Open several pooled connections, then freeze them all.
    expect((await Promise.all(Array.from({ length: 8 }, () => query()))).map((r) => r.status)).toEqual(Array(8).fill(200));
    proxy.freeze();
    const answers = await Promise.all(Array.from({ length: 8 }, () => timed(query())));
    for (const { res, ms } of answers) {
      expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({
        status: 503,
        body: UNAVAILABLE,
        retryAfter: '5',
      });
      expect(ms).toBeLessThan(STATEMENT_TIMEOUT_MS + 2000 + ANSWER_BOUND_MS);
    }
    await proxy.restore();
    // The frozen connections are gone from the pool: fresh ones answer.
    const deadline = Date.now() + 10_000;
    let statuses: number[];
    do {
      statuses = (await Promise.all(Array.from({ length: 8 }, () => query()))).map((r) => r.status);
    } while (statuses.some((s) => s !== 200) && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 500, true))));
    expect(statuses).toEqual(Array(8).fill(200));
    expect((await t.http.get('/health')).body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
  }, 60_000);
});

describe("Redis unreachable or emptied (a redis-server of the test's own)", () => {
  let redis: TestRedis;
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    redis = await startTestRedis();
    s3 = await startS3Server({ buckets: ['outage'] });
    t = await startTestApp({ REDIS_URL: redis.url, S3_ALLOWED_ENDPOINTS: s3.endpoint, EXPORT_SWEEP_INTERVAL_MS: '500' });
    project = await t.createProject();
    await t.http.post('/events/lines').set(auth(project, 'push')).send({ n: 1, timestamp: '2020-01-01T00:00:00Z' }).expect(200);
  });
  afterAll(async () => {
    await redis.start().catch(() => undefined);
    await t.close();
    await redis.kill();
    await s3.close();
  });

  const exportBody = () => ({ s3Path: `${s3.endpoint}/outage/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });

  it('answers POST export within the bound while Redis is down (201: the row is stored), and the export completes once Redis is back', async () => {
    await redis.kill();
    const { res, ms } = await timed(t.http.post('/events/lines/export').set(auth(project, 'query')).send(exportBody()));
    expect(ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('Pending');
    const monitor = await t.http.get(pathOf(res.headers.location)).set(auth(project, 'query'));
    expect(monitor.body.status).toBe('Pending');

    const health = await timed(t.http.get('/health'));
    expect(health.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect({ status: health.res.status, body: health.res.body }).toEqual({
      status: 503,
      body: { errorMessage: 'Unhealthy: Redis not answering.' },
    });

    await redis.start(); // empty
    const { final } = await waitForExport(t.http, pathOf(res.headers.location), auth(project, 'query'), 30_000);
    expect(final.status).toBe('Complete');
    const object = await s3.getObject('outage', final.filename);
    expect(JSON.parse(object.toString())).toEqual({ id: expect.any(String), timestamp: '2020-01-01T00:00:00.000Z', n: 1 });
  }, 60_000);

  it('queues again, within the sweep interval, an export whose job Redis lost (FLUSHALL) while the worker runs', async () => {
    const queue = t.app.get<Queue>(getQueueToken('exports'));
    await queue.pause(true); // this worker takes no job until resumed
    try {
      const res = await t.http.post('/events/lines/export').set(auth(project, 'query')).send(exportBody());
      expect(res.status).toBe(201);
      const id = res.body.filename.replace(/\.json$/, '');
      expect(await (await queue.getJob(id))?.getState()).toBe('waiting');

      const admin = new Redis(redis.url);
      await admin.flushall();
      await admin.quit();
      expect(await queue.getJob(id)).toBeNull();

      // The sweep (every 500 ms here) queues it again while this worker still takes nothing.
      const deadline = Date.now() + 5000;
      while ((await queue.getJob(id)) === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await (await queue.getJob(id))?.getState()).toBe('waiting');

      await queue.resume(true);
      // Under load Bull has been seen to take up to its lock duration (30 s) to pick a job up after a
      // FLUSHALL; what matters here is that the export runs at all.
      const { final } = await waitForExport(t.http, pathOf(res.headers.location), auth(project, 'query'), 50_000);
      expect(final.status).toBe('Complete');
      expect((await s3.getObject('outage', final.filename)).toString()).toMatch(/"n": ?1/);
    } finally {
      await queue.resume(true);
    }
  }, 90_000);

  it("answers the queue dashboard's API within the bound while Redis is stopped or down (it waited for the socket timeout)", async () => {
    const dashboard = () => timed(t.http.get('/admin/queues/api/queues').set('X-Admin-Token', TEST_ADMIN_TOKEN));
    const up = await dashboard();
    expect(up.res.status).toBe(200);
    expect(up.res.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['exports', 'imports']);
    const unavailable = { errorMessage: 'The queue dashboard cannot read the queues: Redis did not answer within 2000 ms.' };

    redis.pause();
    try {
      const stopped = await dashboard();
      expect(stopped.ms).toBeLessThan(ANSWER_BOUND_MS);
      expect([stopped.res.status, stopped.res.headers['retry-after'], stopped.res.body]).toEqual([503, '5', unavailable]);
    } finally {
      redis.resume();
    }
    // The late answer of the paused request went nowhere, and the dashboard works again.
    expect((await dashboard()).res.status).toBe(200);

    await redis.kill();
    const down = await dashboard();
    expect(down.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect([down.res.status, down.res.headers['retry-after'], down.res.body]).toEqual([503, '5', unavailable]);
    await redis.start();
    const deadline = Date.now() + 10_000;
    let again = await dashboard();
    while (again.res.status !== 200 && Date.now() < deadline) again = await dashboard();
    expect(again.res.status).toBe(200);
  }, 60_000);
});
