import type { CreatedProject } from '../src/projects/projects.service';
import { queryClient, QueryClient } from './support/query';
import { auth, startTestApp, TestApp } from './support/test-app';

/** E5 over HTTP: keys, caching headers (Connect docs, "Caching"), routes beside exports; E9 deleting collections (Connect docs, "Deleting a collection"). */
describe('query and collections over HTTP', () => {
  let t: TestApp;
  let project: CreatedProject;
  let other: CreatedProject;
  let q: QueryClient;
  const count = { select: { n: 'count' } };

  beforeAll(async () => {
    t = await startTestApp();
    project = await t.createProject();
    other = await t.createProject('other');
    q = queryClient(t, project);
    await q.push({
      shop: [
        { id: 1, price: 5 },
        { id: 2, price: 7 },
      ],
    });
  });
  afterAll(() => t.close());

  describe('keys', () => {
    it('answers with the query, push/query and master keys, 403 for the push key, 401 without or with a wrong key', async () => {
      for (const key of ['query', 'pushQuery', 'master'] as const) {
        const res = await t.http
          .get('/events/shop')
          .query({ query: JSON.stringify(count) })
          .set(auth(project, key));
        expect(res.status).toBe(200);
      }
      const push = await t.http
        .get('/events/shop')
        .query({ query: JSON.stringify(count) })
        .set(auth(project, 'push'));
      expect(push.status).toBe(403);
      expect(push.body).toEqual({ errorMessage: 'This API key is not allowed to query or export events.' });
      expect((await t.http.get('/events/shop').query({ query: JSON.stringify(count) })).status).toBe(401);
      const wrong = await t.http
        .get('/events/shop')
        .query({ query: JSON.stringify(count) })
        .set({ ...auth(project), 'X-Api-Key': other.keys.query });
      expect(wrong.status).toBe(401);
    });

    it("never sees another project's events", async () => {
      const res = await t.http
        .get('/events/shop')
        .query({ query: JSON.stringify(count) })
        .set(auth(other, 'query'));
      expect(res.body.results).toEqual([{ n: 0, _count: 0 }]);
    });
  });

  describe('caching headers', () => {
    it('sends a strong ETag and Cache-Control: private, no-cache', async () => {
      const res = await q.query('shop', count);
      expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(res.headers['cache-control']).toBe('private, no-cache');
    });

    it('answers 304 with no body to If-None-Match holding the current tag, 200 with a new tag once the result changes', async () => {
      await q.push({ cached: [{ price: 1 }] });
      const doc = { select: { total: { sum: 'price' } } };
      const first = await q.query('cached', doc);
      expect(first.status).toBe(200);
      const tag = first.headers.etag;
      expect((await q.query('cached', doc)).headers.etag).toBe(tag);

      const notModified = await q.query('cached', doc, { 'If-None-Match': tag });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
      expect((await q.query('cached', doc, { 'If-None-Match': `"other", ${tag}` })).status).toBe(304);
      expect((await q.query('cached', doc, { 'If-None-Match': '"other"' })).status).toBe(200);

      await q.push({ cached: [{ price: 2 }] });
      const changed = await q.query('cached', doc, { 'If-None-Match': tag });
      expect(changed.status).toBe(200);
      expect(changed.body.results).toEqual([{ total: 3, _count: 2 }]);
      expect(changed.headers.etag).not.toBe(tag);
    });

    it('exposes ETag to browsers (connect-js reads it as cacheKey)', async () => {
      const res = await q.query('shop', count, { Origin: 'https://dashboard.example' });
      expect(res.headers['access-control-expose-headers']).toContain('ETag');
    });
  });

  it('routes GET /events/:collection and GET /events/:collection/export to their own endpoints', async () => {
    const query = await q.query('shop', count);
    expect(query.body.results).toEqual([{ n: 2, _count: 2 }]);
    const exported = await t.http.get('/events/shop/export').set(auth(project, 'query'));
    expect(exported.status).toBe(200);
    expect(exported.body.results.map((e: { id: number }) => e.id)).toEqual([1, 2]);
    await q.push({ export: [{ a: 1 }] });
    expect((await q.query('export', count)).body.results).toEqual([{ n: 1, _count: 1 }]);
  });

  describe('DELETE /collections/:collection (Connect docs, "Deleting a collection")', () => {
    it('deletes every event of the collection with the master key (204), then answers 404', async () => {
      await q.push({ doomed: [{ a: 1 }, { a: 2 }], kept: [{ a: 3 }] });
      const res = await t.http.delete('/collections/doomed').set(auth(project, 'master'));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await q.ok('doomed', count)).results).toEqual([{ n: 0, _count: 0 }]);
      expect((await q.ok('kept', count)).results).toEqual([{ n: 1, _count: 1 }]);
      const again = await t.http.delete('/collections/doomed').set(auth(project, 'master'));
      expect(again.status).toBe(404);
      expect(again.body).toEqual({ errorMessage: "No collection 'doomed' in this project." });
    });

    it('also answers on the legacy path DELETE /events/:collection, decoding + as a space', async () => {
      await q.push({ 'old style': [{ a: 1 }] });
      expect((await t.http.delete('/events/old+style').set(auth(project, 'master'))).status).toBe(204);
      expect((await q.ok('old style', count)).results).toEqual([{ n: 0, _count: 0 }]);
    });

    it('answers 404 for an unknown collection and for one of another project', async () => {
      expect((await t.http.delete('/collections/never-pushed').set(auth(project, 'master'))).status).toBe(404);
      expect((await t.http.delete('/collections/shop').set(auth(other, 'master'))).status).toBe(404);
      expect((await q.ok('shop', count)).results).toEqual([{ n: 2, _count: 2 }]);
    });

    it('answers 403 for every key but the master key, and deletes nothing', async () => {
      for (const key of ['pushQuery', 'push', 'query'] as const) {
        for (const path of ['/collections/shop', '/events/shop']) {
          const res = await t.http.delete(path).set(auth(project, key));
          expect(res.status).toBe(403);
          expect(res.body).toEqual({ errorMessage: 'This API key is not allowed to administer this project (master key only).' });
        }
      }
      expect((await t.http.delete('/collections/shop')).status).toBe(401);
      expect((await q.ok('shop', count)).results).toEqual([{ n: 2, _count: 2 }]);
    });
  });
});
