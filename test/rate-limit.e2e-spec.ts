import { createHash, randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { Response } from 'supertest';
import { ProjectsService } from '../src/projects/projects.service';
import { startTestRedis, TestRedis } from './support/redis-server';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TestApp, testKeyPrefix } from './support/test-app';

/**
 * Rate limits (src/common/rate-limit.ts), on real Redis: failed authentications per client address
 * and per credential, per-project limits, limits shared by several app instances, and answers
 * within a bounded time when Redis stops answering or dies.
 */

const QUERY = { query: JSON.stringify({ select: { n: 'count' } }) };
const wrongKey = () => randomBytes(16).toString('hex');

/** A unique rate-limit prefix, so that apps of one test share limits and no other test's do. */
const prefix = () => testKeyPrefix('rl');

function expectTooMany(res: Response, limit: number, maxWindowSeconds: number): void {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({ errorMessage: expect.stringMatching(/^Too many .+ Try again in \d+ s\.$/) });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxWindowSeconds);
  expect(res.headers['ratelimit-limit']).toBe(String(limit));
  expect(res.headers['ratelimit-remaining']).toBe('0');
  expect(Number(res.headers['ratelimit-reset'])).toBeLessThanOrEqual(maxWindowSeconds);
}

describe('test apps', () => {
  // A regression: the prefix once counted apps per module registry, so the next test file in the same jest
  // worker got the previous file's prefix, with its failed-authentication counters (429 for right keys).
  it('get a rate-limit and queue prefix of their own, also across test files run by one jest worker', () => {
    const prefixes: string[] = [];
    for (let file = 0; file < 2; file++) {
      jest.isolateModules(() => {
        prefixes.push(jest.requireActual<{ testKeyPrefix: typeof testKeyPrefix }>('./support/test-app').testKeyPrefix('app'));
      });
    }
    expect(new Set(prefixes).size).toBe(2);
  });
});

describe('rate limits', () => {
  describe('failed authentication', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '5', RATE_LIMIT_AUTH_FAILURES_PER_KEY: '100' });
    });
    afterAll(() => t.close());

    it('answers 429 with Retry-After after 5 wrong keys from one address, then refuses even a right key without looking it up', async () => {
      const project = await t.createProject();
      for (let i = 0; i < 5; i++) {
        const res = await t.http.post('/events/c').set({ 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() }).send({ a: 1 });
        expect(res.status).toBe(401);
      }
      const blocked = await t.http.post('/events/c').set({ 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() }).send({ a: 1 });
      expectTooMany(blocked, 5, 600);
      expect(blocked.body.errorMessage).toMatch(/^Too many failed authentication attempts\./);

      const authenticate = jest.spyOn(t.app.get(ProjectsService), 'authenticate');
      try {
        const right = await t.http.get('/events/c').query(QUERY).set(auth(project));
        expect(right.status).toBe(429);
        const missing = await t.http.get('/events/c').query(QUERY);
        expect(missing.status).toBe(429);
        expect(authenticate).not.toHaveBeenCalled();
      } finally {
        authenticate.mockRestore();
      }
    });
  });

  describe('failed authentication per credential, and TRUST_PROXY', () => {
    it('limits one wrong key tried from many forwarded addresses, but only with TRUST_PROXY believing them', async () => {
      const trusting = await startTestApp({
        TRUST_PROXY: 'loopback',
        RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '2',
        RATE_LIMIT_AUTH_FAILURES_PER_KEY: '3',
      });
      try {
        const project = await trusting.createProject();
        const key = wrongKey();
        const attempt = (address: string, apiKey = key) =>
          trusting.http
            .get('/events/c')
            .query(QUERY)
            .set({ 'X-Forwarded-For': address, 'X-Project-Id': project.projectId, 'X-Api-Key': apiKey });
        // Three addresses, one failure each (under their limit of 2): the key's limit of 3 is used up.
        for (const address of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
          expect((await attempt(address)).status).toBe(401);
        }
        expectTooMany(await attempt('198.51.100.4'), 3, 600);
        // Another wrong key from a fresh address is merely wrong; the right key still works.
        expect((await attempt('198.51.100.5', wrongKey())).status).toBe(401);
        const right = await attempt('198.51.100.6', project.keys.master);
        expect(right.status).toBe(200);
        // Each forwarded address has its own limit of 2.
        expect((await attempt('198.51.100.1', wrongKey())).status).toBe(401);
        expectTooMany(await attempt('198.51.100.1', wrongKey()), 2, 600);
      } finally {
        await trusting.close();
      }
    });

    it('counts every IPv6 address of one /64 as one client address', async () => {
      const t = await startTestApp({
        TRUST_PROXY: 'loopback',
        RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '2',
        RATE_LIMIT_AUTH_FAILURES_PER_KEY: '100',
      });
      try {
        const project = await t.createProject();
        const attempt = (address: string) =>
          t.http
            .get('/events/c')
            .query(QUERY)
            .set({ 'X-Forwarded-For': address, 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() });
        expect((await attempt('2001:db8:1:2::1')).status).toBe(401);
        expect((await attempt('2001:db8:1:2::2')).status).toBe(401);
        expectTooMany(await attempt('2001:db8:1:2:ffff:ffff:ffff:ffff'), 2, 600);
        expect((await attempt('2001:db8:1:3::1')).status).toBe(401);
      } finally {
        await t.close();
      }
    });

    it('ignores X-Forwarded-For without TRUST_PROXY, so a client cannot escape the per-address limit by forging it', async () => {
      const t = await startTestApp({ RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '2', RATE_LIMIT_AUTH_FAILURES_PER_KEY: '100' });
      try {
        const project = await t.createProject();
        const attempt = (address: string) =>
          t.http
            .get('/events/c')
            .query(QUERY)
            .set({ 'X-Forwarded-For': address, 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() });
        expect((await attempt('198.51.100.1')).status).toBe(401);
        expect((await attempt('198.51.100.2')).status).toBe(401);
        expectTooMany(await attempt('198.51.100.3'), 2, 600);
      } finally {
        await t.close();
      }
    });
  });

  describe('wrong admin tokens', () => {
    it('answers 429 after the configured number of wrong X-Admin-Token, also for the right token from that address', async () => {
      const t = await startTestApp({ RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '4', RATE_LIMIT_AUTH_WINDOW_SECONDS: '120' });
      try {
        for (const token of ['wrong-1', 'wrong-2', 'wrong-3', '']) {
          const res = await t.http.post('/projects').set('X-Admin-Token', token).send({ name: 'x' });
          expect(res.status).toBe(401);
          expect(res.body).toEqual({ errorMessage: 'Missing or wrong X-Admin-Token.' });
        }
        expectTooMany(await t.http.post('/projects').set('X-Admin-Token', 'wrong-5').send({ name: 'x' }), 4, 120);
        expectTooMany(await t.http.post('/projects').set('X-Admin-Token', TEST_ADMIN_TOKEN).send({ name: 'x' }), 4, 120);
      } finally {
        await t.close();
      }
    });

    it('limits one wrong admin token per credential too', async () => {
      const t = await startTestApp({
        TRUST_PROXY: 'loopback',
        RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '100',
        RATE_LIMIT_AUTH_FAILURES_PER_KEY: '2',
      });
      try {
        const attempt = (address: string, token: string) =>
          t.http.post('/projects').set({ 'X-Forwarded-For': address, 'X-Admin-Token': token }).send({ name: 'x' });
        expect((await attempt('203.0.113.1', 'guess-aaaa')).status).toBe(401);
        expect((await attempt('203.0.113.2', 'guess-aaaa')).status).toBe(401);
        expectTooMany(await attempt('203.0.113.3', 'guess-aaaa'), 2, 600);
        expect((await attempt('203.0.113.4', TEST_ADMIN_TOKEN)).status).toBe(201);
      } finally {
        await t.close();
      }
    });
  });

  describe('per project', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({
        RATE_LIMIT_PUSHES: '3',
        RATE_LIMIT_QUERIES: '3',
        RATE_LIMIT_SMALL_EXPORTS: '3',
        RATE_LIMIT_S3_EXPORTS: '2',
        RATE_LIMIT_WINDOW_SECONDS: '300',
      });
    });
    afterAll(() => t.close());

    it('limits pushes (single and batch together) with RateLimit-* headers; another project is unaffected', async () => {
      const [a, b] = [await t.createProject('A'), await t.createProject('B')];
      const answers = [
        await t.http.post('/events/c').set(auth(a, 'push')).send({ n: 1 }),
        await t.http
          .post('/events')
          .set(auth(a, 'push'))
          .send({ c: [{ n: 2 }] }),
        await t.http.post('/events/c').set(auth(a, 'push')).send({ n: 3 }),
      ];
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(answers.map((r) => r.headers['ratelimit-limit'])).toEqual(['3', '3', '3']);
      expect(answers.map((r) => r.headers['ratelimit-remaining'])).toEqual(['2', '1', '0']);
      for (const r of answers) {
        expect(Number(r.headers['ratelimit-reset'])).toBeGreaterThan(0);
        expect(Number(r.headers['ratelimit-reset'])).toBeLessThanOrEqual(300);
      }
      const over = await t.http
        .post('/events')
        .set(auth(a, 'push'))
        .send({ c: [{ n: 4 }] });
      expectTooMany(over, 3, 300);
      expect(over.body.errorMessage).toMatch(/^Too many push requests for this project \(at most 3 per 300 s\)\./);
      // Nothing of the refused request was stored.
      const count = await t.http.get('/events/c').query(QUERY).set(auth(a));
      expect(count.body.results).toEqual([{ n: 3, _count: 3 }]);

      const other = await t.http.post('/events/c').set(auth(b, 'push')).send({ n: 1 });
      expect(other.status).toBe(200);
      expect(other.headers['ratelimit-remaining']).toBe('2');
    });

    it('limits queries (and export monitor reads) per project', async () => {
      const [a, b] = [await t.createProject('A'), await t.createProject('B')];
      const ok = [
        await t.http.get('/events/c').query(QUERY).set(auth(a, 'query')),
        await t.http.get('/events/c/export/0123456789abcdef01234567').set(auth(a, 'query')),
        await t.http.get('/events/c').query(QUERY).set(auth(a, 'query')),
      ];
      expect(ok.map((r) => r.status)).toEqual([200, 404, 200]);
      expect(ok.map((r) => r.headers['ratelimit-remaining'])).toEqual(['2', '1', '0']);
      expectTooMany(await t.http.get('/events/c').query(QUERY).set(auth(a, 'query')), 3, 300);
      expect((await t.http.get('/events/c').query(QUERY).set(auth(b, 'query'))).status).toBe(200);
      // Pushes have a limit of their own.
      expect((await t.http.post('/events/c').set(auth(a)).send({})).status).toBe(200);
    });

    it('limits small exports per project', async () => {
      const [a, b] = [await t.createProject('A'), await t.createProject('B')];
      for (let i = 0; i < 3; i++) {
        const res = await t.http.get('/events/c/export').set(auth(a, 'query'));
        expect(res.status).toBe(200);
        expect(res.headers['ratelimit-remaining']).toBe(String(2 - i));
      }
      expectTooMany(await t.http.get('/events/c/export').set(auth(a, 'query')), 3, 300);
      expect((await t.http.get('/events/c/export').set(auth(b, 'query'))).status).toBe(200);
    });

    it('limits S3 exports per project, counting requests whatever their answer', async () => {
      const [a, b] = [await t.createProject('A'), await t.createProject('B')];
      for (let i = 0; i < 2; i++) {
        const res = await t.http.post('/events/c/export').set(auth(a, 'query')).send({});
        expect(res.status).toBe(422);
        expect(res.headers['ratelimit-remaining']).toBe(String(1 - i));
      }
      expectTooMany(await t.http.post('/events/c/export').set(auth(a, 'query')).send({}), 2, 300);
      expect((await t.http.post('/events/c/export').set(auth(b, 'query')).send({})).status).toBe(422);
    });
  });

  describe('several app instances', () => {
    it('share one limit when they share Redis and RATE_LIMIT_PREFIX; another prefix has its own', async () => {
      const shared = prefix();
      const env = { RATE_LIMIT_PREFIX: shared, RATE_LIMIT_QUERIES: '4', RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '2' };
      const [one, two, other] = [
        await startTestApp(env),
        await startTestApp(env),
        await startTestApp({ ...env, RATE_LIMIT_PREFIX: prefix() }),
      ];
      try {
        const project = await one.createProject();
        const statuses: number[] = [];
        for (const app of [one, two, one, two, one, two]) {
          statuses.push((await app.http.get('/events/c').query(QUERY).set(auth(project))).status);
        }
        expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
        expect((await other.http.get('/events/c').query(QUERY).set(auth(project))).status).toBe(200);

        // Failed authentications too: one failure on each instance uses up the address's 2.
        const bad = { 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() };
        expect((await one.http.get('/events/c').query(QUERY).set(bad)).status).toBe(401);
        expect((await two.http.get('/events/c').query(QUERY).set(bad)).status).toBe(401);
        expectTooMany(await one.http.get('/events/c').query(QUERY).set(bad), 2, 600);
        expect((await other.http.get('/events/c').query(QUERY).set(bad)).status).toBe(401);
      } finally {
        await Promise.all([one.close(), two.close(), other.close()]);
      }
    });
  });

  describe('switched off', () => {
    it('RATE_LIMIT_ENABLED=false: no 429 and no RateLimit-* headers', async () => {
      const t = await startTestApp({ RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '1', RATE_LIMIT_PUSHES: '1' });
      try {
        const project = await t.createProject();
        for (let i = 0; i < 3; i++) {
          expect(
            (await t.http.get('/events/c').query(QUERY).set({ 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() })).status,
          ).toBe(401);
          const push = await t.http.post('/events/c').set(auth(project)).send({});
          expect(push.status).toBe(200);
          expect(push.headers['ratelimit-limit']).toBeUndefined();
        }
      } finally {
        await t.close();
      }
    });
  });

  describe('when Redis stops answering or dies', () => {
    let redis: TestRedis;
    let t: TestApp;
    let rlPrefix: string;
    beforeAll(async () => {
      redis = await startTestRedis();
      rlPrefix = prefix();
      t = await startTestApp({
        RATE_LIMIT_REDIS_URL: redis.url,
        RATE_LIMIT_PREFIX: rlPrefix,
        RATE_LIMIT_REDIS_TIMEOUT_MS: '200',
        RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '3',
        RATE_LIMIT_PUSHES: '1000',
      });
    });
    afterAll(async () => {
      await t?.close();
      redis?.resume();
      await redis?.kill();
    });

    /** Pushes once and returns the answer and how long it took, ms. */
    async function timedPush(headers: Record<string, string>): Promise<[Response, number]> {
      const started = Date.now();
      const res = await t.http.post('/events/c').set(headers).send({ n: 1 });
      return [res, Date.now() - started];
    }

    it('keeps its counters in that Redis, under the prefix, without secrets', async () => {
      const project = await t.createProject();
      // Redis may still be connecting right after start: wait until a push is counted there.
      const client = new Redis(redis.url);
      try {
        const key = `${rlPrefix}:ratelimit:project-pushes:${project.projectId}`;
        for (let i = 0; i < 50 && !(await client.exists(key)); i++) {
          expect((await timedPush(auth(project)))[0].status).toBe(200);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(await client.exists(key)).toBe(1);
        expect(
          (await t.http.get('/events/c').query(QUERY).set({ 'X-Project-Id': project.projectId, 'X-Api-Key': 'not-the-key-0123' })).status,
        ).toBe(401);
        expect((await t.http.post('/projects').set('X-Admin-Token', 'not-the-admin-token').send({ name: 'x' })).status).toBe(401);
        const keys = await client.keys('*');
        expect(keys.length).toBeGreaterThanOrEqual(3);
        expect(keys.every((k) => k.startsWith(`${rlPrefix}:ratelimit:`))).toBe(true);
        const secrets = [...Object.values(project.keys), 'not-the-key-0123', 'not-the-admin-token', TEST_ADMIN_TOKEN];
        const dump = keys.join('\n');
        for (const secret of secrets) {
          expect(dump).not.toContain(secret);
          expect(dump).not.toContain(createHash('sha256').update(secret).digest('hex').slice(0, 16));
        }
        await client.del(...keys);
      } finally {
        client.disconnect();
      }
    });

    it('answers within a bounded time while Redis is stopped (SIGSTOP), then killed, and still limits failed logins in memory', async () => {
      const project = await t.createProject();
      redis.pause();
      for (let i = 0; i < 3; i++) {
        const [res, ms] = await timedPush(auth(project));
        expect(res.status).toBe(200);
        // 2 Redis calls of at most 200 ms each, plus the push; 5 s would be a hang.
        expect(ms).toBeLessThan(3000);
      }
      await redis.kill();
      for (let i = 0; i < 3; i++) {
        const [res, ms] = await timedPush(auth(project));
        expect(res.status).toBe(200);
        expect(res.headers['ratelimit-limit']).toBe('1000');
        expect(ms).toBeLessThan(3000);
      }
      // The in-memory insurance limiter of this process still stops brute force.
      for (let i = 0; i < 3; i++) {
        const [res, ms] = await timedPush({ 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() });
        expect(res.status).toBe(401);
        expect(ms).toBeLessThan(3000);
      }
      const [blocked, ms] = await timedPush({ 'X-Project-Id': project.projectId, 'X-Api-Key': wrongKey() });
      expectTooMany(blocked, 3, 600);
      expect(ms).toBeLessThan(3000);
    });
  });
});
