import { DataSource } from 'typeorm';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TestApp } from './support/test-app';
import type { CreatedProject } from '../src/projects/projects.service';

describe('projects, keys and isolation (Connect docs, "HTTP API")', () => {
  let t: TestApp;
  let a: CreatedProject;
  let b: CreatedProject;

  beforeAll(async () => {
    t = await startTestApp();
    a = await t.createProject('A');
    b = await t.createProject('B');
  });
  afterAll(() => t.close());

  describe('POST /projects', () => {
    it('creates a project with four 32-character keys that work at once', async () => {
      const res = await t.http.post('/projects').set('X-Admin-Token', TEST_ADMIN_TOKEN).send({ name: 'Flower shop' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        projectId: expect.stringMatching(/^[0-9a-f]{24}$/),
        name: 'Flower shop',
        keys: {
          master: expect.stringMatching(/^[0-9a-f]{32}$/),
          pushQuery: expect.stringMatching(/^[0-9a-f]{32}$/),
          push: expect.stringMatching(/^[0-9a-f]{32}$/),
          query: expect.stringMatching(/^[0-9a-f]{32}$/),
        },
      });
      expect(new Set(Object.values(res.body.keys)).size).toBe(4);
      const push = await t.http
        .post('/events/c')
        .set({ 'x-project-id': res.body.projectId, 'x-api-key': res.body.keys.push })
        .send({ a: 1 });
      expect(push.status).toBe(200);
    });

    it('stores keys only as hashes and the master key only encrypted', async () => {
      const created = await t.createProject('secrets');
      const rows = await t.app
        .get(DataSource)
        .query(`SELECT p.*, k.* FROM projects p JOIN api_keys k ON k.project_id = p.id WHERE p.id = $1`, [created.projectId]);
      const text = JSON.stringify(rows);
      expect(rows).toHaveLength(4);
      for (const key of Object.values(created.keys)) {
        expect(text).not.toContain(key);
      }
    });

    it('answers 401 for a missing or wrong admin token', async () => {
      for (const headers of [{}, { 'X-Admin-Token': 'wrong' }]) {
        const res = await t.http.post('/projects').set(headers).send({ name: 'x' });
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ errorMessage: 'Missing or wrong X-Admin-Token.' });
      }
    });

    it('answers 422 for a missing or unusable name (regression: NUL was a 500)', async () => {
      const res = await t.http.post('/projects').set('X-Admin-Token', TEST_ADMIN_TOKEN).send({});
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ errors: [{ field: 'name', description: 'name must be a string' }] });
      for (const name of ['a\u0000b', '   ', 'tab\there', '\ud800']) {
        const bad = await t.http.post('/projects').set('X-Admin-Token', TEST_ADMIN_TOKEN).send({ name });
        expect(bad.status).toBe(422);
        expect(bad.body).toEqual({
          errors: [{ field: 'name', description: 'name must be text without control characters, and not only spaces' }],
        });
      }
    });

    it('answers 403 when ADMIN_TOKEN is not set', async () => {
      const off = await startTestApp({ ADMIN_TOKEN: '' });
      try {
        const res = await off.http.post('/projects').set('X-Admin-Token', TEST_ADMIN_TOKEN).send({ name: 'x' });
        expect(res.status).toBe(403);
        expect(res.body).toEqual({ errorMessage: 'Admin endpoints are disabled. Set ADMIN_TOKEN to enable them.' });
      } finally {
        await off.close();
      }
    });
  });

  describe('API keys', () => {
    const unauthorised = { errorMessage: 'Unauthorised. Please check your Project Id and API Key.' };

    it('answers 401 for missing headers', async () => {
      const res = await t.http.post('/events/c').send({ a: 1 });
      expect(res.status).toBe(401);
      expect(res.body.errorMessage).toMatch(/X-Project-Id and X-Api-Key/);
    });

    it('answers 401 for an unknown key, a malformed project id, or a key of another project', async () => {
      for (const headers of [
        { 'X-Project-Id': a.projectId, 'X-Api-Key': '0'.repeat(32) },
        { 'X-Project-Id': 'not-a-project', 'X-Api-Key': a.keys.master },
        { 'X-Project-Id': a.projectId, 'X-Api-Key': b.keys.master },
      ]) {
        const res = await t.http.get('/events/c/export').set(headers);
        expect(res.status).toBe(401);
        expect(res.body).toEqual(unauthorised);
      }
    });

    it('accepts header names in any case (X-API-Key as in the docs)', async () => {
      const res = await t.http.get('/events/c/export').set({ 'x-project-id': a.projectId, 'X-API-KEY': a.keys.query });
      expect(res.status).toBe(200);
    });

    it.each([
      ['master', 200, 200],
      ['pushQuery', 200, 200],
      ['push', 200, 403],
      ['query', 403, 200],
    ] as const)('%s key: push → %i, export → %i', async (key, pushStatus, exportStatus) => {
      const push = await t.http.post('/events/perm').set(auth(a, key)).send({ a: 1 });
      expect(push.status).toBe(pushStatus);
      const exported = await t.http.get('/events/perm/export').set(auth(a, key));
      expect(exported.status).toBe(exportStatus);
      const s3 = await t.http.post('/events/perm/export').set(auth(a, key)).send({});
      expect(s3.status).toBe(exportStatus === 200 ? 422 : 403);
      if (pushStatus === 403) {
        expect(push.body).toEqual({ errorMessage: 'This API key is not allowed to push events.' });
      }
      if (exportStatus === 403) {
        expect(exported.body).toEqual({ errorMessage: 'This API key is not allowed to query or export events.' });
      }
    });
  });

  it("keeps projects apart: B never sees A's events", async () => {
    await t.http.post('/events/shared-name').set(auth(a, 'push')).send({ owner: 'A' });
    await t.http.post('/events/shared-name').set(auth(b, 'push')).send({ owner: 'B' });
    const fromA = await t.http.get('/events/shared-name/export').set(auth(a, 'query'));
    const fromB = await t.http.get('/events/shared-name/export').set(auth(b, 'query'));
    expect(fromA.body.results.map((e: { owner: string }) => e.owner)).toEqual(['A']);
    expect(fromB.body.results.map((e: { owner: string }) => e.owner)).toEqual(['B']);
  });

  it('GET /health answers 200 when PostgreSQL and Redis answer', async () => {
    const res = await t.http.get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
  });

  it("answers 404 in Connect's shape for an unknown route", async () => {
    const res = await t.http.get('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errorMessage: 'Not found.' });
  });

  it('answers CORS preflights for browser SDKs and exposes ETag, Location, X-Request-Id and the rate-limit headers', async () => {
    const res = await t.http
      .options('/events/c')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'x-project-id,x-api-key,content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-headers']).toMatch(/X-Project-Id/);
    const get = await t.http.get('/health').set('Origin', 'https://app.example.com');
    expect(get.headers['access-control-expose-headers']).toBe(
      'ETag,Location,X-Request-Id,Retry-After,RateLimit-Limit,RateLimit-Remaining,RateLimit-Reset',
    );
  });
});
