import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { EventsService } from '../src/events/events.service';
import { INVALID_FILTERED_KEY_MESSAGE } from '../src/projects/filtered-key';
import { CreatedProject, ProjectsService } from '../src/projects/projects.service';
import { pathOf, until, waitForExport } from './support/exports';
import { encryptBlocks, makeFilteredKey } from './support/filtered-keys';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TestApp } from './support/test-app';

/**
 * Filtered keys (docs/keys.md), made by the test's own generator (support/filtered-keys.ts, from
 * Connect's description of the SDKs' generators), against the running service: what they allow,
 * what they narrow, what is refused and how, and what a key reset does to them.
 */

const INVALID = { errorMessage: INVALID_FILTERED_KEY_MESSAGE };
const UNAUTHORISED = { errorMessage: 'Unauthorised. Please check your Project Id and API Key.' };
const COUNT = { select: { n: 'count', total: { sum: 'price' } } };

const RIDES = [
  { id: 1, timestamp: '2015-01-01T00:00:00Z', tenant: 'a', type: 'cycling', price: 10 },
  { id: 2, timestamp: '2015-01-01T01:00:00Z', tenant: 'a', type: 'running', price: 20 },
  { id: 3, timestamp: '2015-01-01T02:00:00Z', tenant: 'a', type: 'cycling', price: 30 },
  { id: 4, timestamp: '2015-01-01T03:00:00Z', tenant: 'b', type: 'cycling', price: 40 },
  { id: 5, timestamp: '2015-01-01T04:00:00Z', tenant: 'b', type: 'running', price: 50 },
  { id: 6, timestamp: '2015-01-01T05:00:00Z', type: 'cycling', price: 60 },
];

const headers = (project: CreatedProject, apiKey: string) => ({ 'X-Project-Id': project.projectId, 'X-Api-Key': apiKey });
/** The key with its hex digit at `index` changed. */
const tamper = (apiKey: string, index: number) => `${apiKey.slice(0, index)}${apiKey[index] === 'A' ? 'B' : 'A'}${apiKey.slice(index + 1)}`;

describe('filtered keys (docs/keys.md; Connect docs, "Filtered keys")', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const BUCKET = 'filtered';

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    // EXPORT_STATEMENT_TIMEOUT_MS: pg keeps a COPY's read timer (this + 2 s) running after the COPY ends, which
    // holds the process that long after the tests (10 min by default) when this file runs alone.
    t = await startTestApp({ S3_ALLOWED_ENDPOINTS: s3.endpoint, EXPORT_STATEMENT_TIMEOUT_MS: '5000' });
    project = await t.createProject('filtered keys');
    const pushed = await t.http.post('/events').set(auth(project)).send({ rides: RIDES });
    expect(pushed.status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await s3.close();
  });

  const key = (definition: unknown, options?: Parameters<typeof makeFilteredKey>[2], master = project.keys.master) =>
    makeFilteredKey(definition, master, options);
  const master = () => project.keys.master;
  const tenantA = () => key({ filters: { tenant: 'a' }, canQuery: true, canPush: false });
  const query = (apiKey: string, document: Record<string, unknown>, p = project) =>
    t.http
      .get('/events/rides')
      .query({ query: JSON.stringify(document) })
      .set(headers(p, apiKey));
  const exported = async (apiKey: string, document: Record<string, unknown> = {}) => {
    const res = await t.http
      .get('/events/rides/export')
      .query({ query: JSON.stringify(document) })
      .set(headers(project, apiKey));
    expect(res.status).toBe(200);
    return (res.body.results as Array<{ id: number }>).map((e) => e.id);
  };

  describe('pushing', () => {
    it('a key with canPush pushes single events and batches, stored as sent (filters never apply to pushes)', async () => {
      const pusher = key({ filters: { tenant: 'a' }, canQuery: false, canPush: true });
      const one = await t.http.post('/events/pushed').set(headers(project, pusher)).send({ tenant: 'z', n: 1 });
      expect([one.status, one.headers['content-type'], one.text]).toEqual([200, 'application/json; charset=utf-8', '']);
      const batch = await t.http
        .post('/events')
        .set(headers(project, pusher))
        .send({ pushed: [{ tenant: 'y', n: 2 }] });
      expect([batch.status, batch.body]).toEqual([200, { pushed: [{ success: true }] }]);
      const stored = await t.http.get('/events/pushed/export').set(auth(project));
      expect(stored.body.results.map((e: { tenant: string }) => e.tenant)).toEqual(['z', 'y']);
      // It cannot query: canQuery is false (its filters are ignored).
      const refused = await query(pusher, COUNT);
      expect([refused.status, refused.body]).toEqual([403, { errorMessage: 'This API key is not allowed to query or export events.' }]);
    });

    it('a key with canPush imports from S3 (POST /event-import) and monitors the import; one without canPush gets 403', async () => {
      const client = new S3Client(s3.clientConfig());
      try {
        const lines = '{"tenant": "x", "n": 1}\n{"tenant": "y", "n": 2}\n';
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'import/rides.ndjson', Body: lines }));
      } finally {
        client.destroy();
      }
      const body = {
        collection: 'imported',
        s3Path: `${s3.endpoint}/${BUCKET}/import/rides.ndjson`,
        s3AccessKeyId: s3.accessKeyId,
        s3SecretAccessKey: s3.secretAccessKey,
      };
      const pusher = key({ filters: { tenant: 'a' }, canPush: true });
      const created = await t.http.post('/event-import').set(headers(project, pusher)).send(body);
      expect(created.status).toBe(201);
      const final = await until('the import to finish', async () => {
        const res = await t.http.get(pathOf(created.headers.location)).set(headers(project, pusher));
        expect(res.status).toBe(200);
        return ['Complete', 'Failed'].includes(res.body.status) ? res.body : null;
      });
      expect([final.status, final.importedEvents]).toEqual(['Complete', 2]);
      const stored = await t.http.get('/events/imported/export').set(auth(project));
      // Lines without a timestamp get the same "now" and random ids: the export's (timestamp, id) order between them is random.
      expect(stored.body.results.map((e: { tenant: string }) => e.tenant).sort()).toEqual(['x', 'y']);
      const reader = await t.http.post('/event-import').set(headers(project, tenantA())).send(body);
      expect([reader.status, reader.body]).toEqual([403, { errorMessage: 'This API key is not allowed to push events.' }]);
    });

    it('a key without canPush is refused pushes with 403, in both hex cases', async () => {
      for (const hexCase of ['upper', 'lower'] as const) {
        const reader = key({ filters: { tenant: 'a' }, canQuery: true }, { case: hexCase });
        const one = await t.http.post('/events/pushed').set(headers(project, reader)).send({ n: 3 });
        expect([one.status, one.body]).toEqual([403, { errorMessage: 'This API key is not allowed to push events.' }]);
        const batch = await t.http
          .post('/events')
          .set(headers(project, reader))
          .send({ pushed: [{ n: 4 }] });
        expect(batch.status).toBe(403);
      }
    });
  });

  describe('querying', () => {
    it("narrows every query to the key's filters, in both hex cases (upper: Python, Ruby, Java, .NET; lower: PHP)", async () => {
      for (const hexCase of ['upper', 'lower'] as const) {
        const res = await query(key({ filters: { tenant: 'a' }, canQuery: true }, { case: hexCase }), COUNT);
        expect([res.status, res.body.results]).toEqual([200, [{ n: 3, total: 60, _count: 3 }]]);
      }
      const grouped = await query(tenantA(), { ...COUNT, groupBy: 'tenant' });
      expect(grouped.body.results).toEqual([{ tenant: 'a', n: 3, total: 60, _count: 3 }]);
    });

    it("ANDs the request's filter: on another path it narrows further, on the key's path it can only narrow", async () => {
      const apiKey = tenantA();
      const cases: Array<[Record<string, unknown>, number, number]> = [
        [{ type: 'cycling' }, 2, 40],
        [{ price: { gt: 15 } }, 2, 50],
        [{ tenant: 'a' }, 3, 60],
        [{ tenant: 'b' }, 0, 0],
        [{ tenant: { in: ['a', 'b'] } }, 3, 60],
        [{ tenant: { neq: 'a' } }, 0, 0],
        [{ tenant: { exists: false } }, 0, 0],
      ];
      for (const [filter, n, total] of cases) {
        const res = await query(apiKey, { ...COUNT, filter });
        expect([filter, res.status, res.body.results]).toEqual([filter, 200, [{ n, total: n === 0 ? null : total, _count: n }]]);
      }
    });

    it('takes filters in the operator form, and the `filter` spelling of connect-net', async () => {
      const operators = key({ filters: { price: { gte: 20 }, tenant: { in: ['a', 'b'] } }, canQuery: true, canPush: false });
      expect((await query(operators, COUNT)).body.results).toEqual([{ n: 4, total: 140, _count: 4 }]);
      const net = key('{"filter":{"type":{"eq":"running"}},"canPush":false,"canQuery":true}');
      expect((await query(net, COUNT)).body.results).toEqual([{ n: 2, total: 70, _count: 2 }]);
    });

    it("counts the key's conditions toward QUERY_MAX_FILTER_CONDITIONS (100)", async () => {
      const apiKey = key({ filters: { tenant: 'a', price: { gt: 0 } }, canQuery: true });
      const filter = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { neq: i }]));
      expect((await query(apiKey, { ...COUNT, filter: filter(98) })).status).toBe(200);
      const over = await query(apiKey, { ...COUNT, filter: filter(99) });
      expect([over.status, over.body]).toEqual([
        422,
        {
          errors: [
            {
              field: 'filter',
              description:
                'A filter can have at most 100 conditions (property paths × operators), the 2 of this filtered API key included; ' +
                'this one has 99 more.',
            },
          ],
        },
      ]);
    });

    it('decrypts a key once: later requests with it are answered from the cache', async () => {
      const cache = t.app.get(ProjectsService).filteredKeys;
      const apiKey = key({ filters: { type: 'running' }, canQuery: true });
      const [misses, hits] = [cache.misses, cache.hits];
      for (let i = 0; i < 5; i++) {
        expect((await query(apiKey, COUNT)).body.results).toEqual([{ n: 2, total: 70, _count: 2 }]);
      }
      // The same key in the other hex case is the same entry.
      expect((await query(apiKey.toLowerCase(), COUNT)).status).toBe(200);
      expect([cache.misses - misses, cache.hits - hits]).toEqual([1, 5]);
    });
  });

  describe('exporting', () => {
    it('narrows small exports the same way', async () => {
      expect(await exported(tenantA())).toEqual([1, 2, 3]);
      expect(await exported(tenantA(), { filter: { price: { gt: 15 } } })).toEqual([2, 3]);
      expect(await exported(tenantA(), { filter: { tenant: 'b' } })).toEqual([]);
      expect(await exported(key({ filters: { tenant: { exists: false } }, canQuery: true }))).toEqual([6]);
    });

    const s3Export = async (apiKey: string, exportQuery: Record<string, unknown>, prefix: string) => {
      const created = await t.http
        .post('/events/rides/export')
        .set(headers(project, apiKey))
        .send({
          query: exportQuery,
          s3Path: `${s3.endpoint}/${BUCKET}/${prefix}/`,
          s3AccessKeyId: s3.accessKeyId,
          s3SecretAccessKey: s3.secretAccessKey,
        });
      expect(created.status).toBe(201);
      const { final } = await waitForExport(t.http, pathOf(created.headers.location), headers(project, apiKey));
      expect(final.status).toBe('Complete');
      const id = created.body.filename.slice(0, 24);
      const [row] = await t.app.get(DataSource).query('SELECT selection FROM exports WHERE id = $1', [id]);
      const object = (await s3.getObject(BUCKET, `${prefix}/${id}.json`)).toString('utf8');
      const manifest = JSON.parse((await s3.getObject(BUCKET, `${prefix}/${id}.manifest.json`)).toString('utf8'));
      return {
        id,
        selection: row.selection,
        ids: object
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line).id),
        manifest,
      };
    };

    it('narrows S3 exports: the stored selection is the combined one, and so are the object and its manifest', async () => {
      const apiKey = tenantA();
      const result = await s3Export(apiKey, { filter: { type: 'cycling' } }, 'combined');
      expect(result.selection.filters).toEqual([
        { path: ['tenant'], operator: 'eq', operand: 'a' },
        { path: ['type'], operator: 'eq', operand: 'cycling' },
      ]);
      expect(result.ids).toEqual([1, 3]);
      expect(result.manifest.query.filter).toEqual({ tenant: { eq: 'a' }, type: { eq: 'cycling' } });

      // The monitor, the list and cancel are open to the key (cancel answers 409: the export is finished).
      const listed = await t.http.get('/exports').set(headers(project, apiKey));
      expect(listed.status).toBe(200);
      expect(listed.body.results.map((e: { id: string }) => e.id)).toContain(result.id);
      const cancel = await t.http.delete(`/events/rides/export/${result.id}`).set(headers(project, apiKey));
      expect(cancel.status).toBe(409);
      const pusher = key({ filters: { tenant: 'a' }, canPush: true });
      expect((await t.http.get('/exports').set(headers(project, pusher))).status).toBe(403);
    });

    it("keeps both conditions when the request repeats the key's path and operator (the manifest's filter: an array, ANDed)", async () => {
      const result = await s3Export(key({ filters: { price: { gt: 10 } }, canQuery: true }), { filter: { price: { gt: 20 } } }, 'repeated');
      expect(result.selection.filters).toEqual([
        { path: ['price'], operator: 'gt', operand: 10 },
        { path: ['price'], operator: 'gt', operand: 20 },
      ]);
      expect(result.ids).toEqual([3, 4, 5, 6]);
      expect(result.manifest.query.filter).toEqual([{ price: { gt: 10 } }, { price: { gt: 20 } }]);
    });
  });

  describe('what a filtered key can never do', () => {
    it('delete a collection (403, like other keys without the master permission)', async () => {
      const apiKey = key({ filters: { tenant: 'a' }, canQuery: true, canPush: true });
      for (const path of ['/collections/rides', '/events/rides']) {
        const res = await t.http.delete(path).set(headers(project, apiKey));
        const forbidden = { errorMessage: 'This API key is not allowed to administer this project (master key only).' };
        expect([path, res.status, res.body]).toEqual([path, 403, forbidden]);
      }
      expect(await exported(project.keys.master)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('authenticate as an operator: admin endpoints take X-Admin-Token only', async () => {
      const apiKey = key({ filters: { tenant: 'a' }, canQuery: true, canPush: true });
      const created = await t.http.post('/projects').set(headers(project, apiKey)).send({ name: 'x' });
      expect([created.status, created.body]).toEqual([401, { errorMessage: 'Missing or wrong X-Admin-Token.' }]);
      for (const res of [
        await t.http.post(`/projects/${project.projectId}/keys/reset`).set(headers(project, apiKey)),
        await t.http.get('/projects').set(headers(project, apiKey)),
      ]) {
        expect([res.status, res.body]).toEqual([401, { errorMessage: 'Missing or wrong X-Admin-Token.' }]);
      }
    });
  });

  describe('invalid keys: 401, one message whatever failed', () => {
    it.each<[string, () => string]>([
      ['a tampered ciphertext', () => tamper(tenantA(), 40)],
      ['a tampered IV (CBC: the first block changes)', () => tamper(tenantA(), 0)],
      ['a non-hex character', () => `${tenantA().slice(0, -1)}G`],
      ['an odd number of hex digits', () => tenantA().slice(0, -1)],
      ['a ciphertext cut mid-block', () => tenantA().slice(0, -2)],
      ['nothing after the hyphen', () => tenantA().slice(0, 33)],
      ['wrong PKCS#7 padding', () => encryptBlocks(Buffer.concat([Buffer.from('{"canPush":true}'), Buffer.alloc(16)]), master())],
      ['a plaintext that is not JSON', () => key('canQuery=true&filters=tenant:a')],
      ['a JSON array', () => key([{ canQuery: true }])],
      ['an unknown filter operator', () => key({ filters: { tenant: { like: 'a%' } }, canQuery: true })],
      ['a filter on the event id', () => key({ filters: { id: 1 }, canQuery: true })],
      ['a key that can query but has no filter', () => key({ canQuery: true, canPush: true })],
      ['canQuery as a string', () => key({ filters: { tenant: 'a' }, canQuery: 'true' })],
      ['a timeframe (which a key cannot enforce)', () => key({ filters: { tenant: 'a' }, canQuery: true, timeframe: 'this_year' })],
      ['a key made with another master key', () => key({ filters: { tenant: 'a' }, canQuery: true }, {}, '0'.repeat(32))],
    ])('%s', async (_, make) => {
      const apiKey = make();
      for (const res of [await query(apiKey, COUNT), await t.http.post('/events/rides').set(headers(project, apiKey)).send({ a: 1 })]) {
        expect([res.status, res.body]).toEqual([401, INVALID]);
      }
    });

    it('a valid key of another project, and an unknown or malformed project id, get the same message', async () => {
      const other = await t.createProject('other');
      const apiKey = tenantA();
      for (const projectId of [other.projectId, 'f'.repeat(24), 'not-a-project']) {
        const res = await t.http.get('/events/rides/export').set({ 'X-Project-Id': projectId, 'X-Api-Key': apiKey });
        expect([projectId, res.status, res.body]).toEqual([projectId, 401, INVALID]);
      }
      // A key not of the filtered form keeps the usual answer.
      const plain = await t.http.get('/events/rides/export').set(headers(project, '0'.repeat(32)));
      expect([plain.status, plain.body]).toEqual([401, UNAUTHORISED]);
    });

    it('count toward the failed-authentication rate limit, as other 401s do', async () => {
      const limited = await startTestApp({ RATE_LIMIT_AUTH_FAILURES_PER_KEY: '2' });
      try {
        const p = await limited.createProject();
        const good = makeFilteredKey({ filters: { tenant: 'a' }, canQuery: true }, p.keys.master);
        const bad = tamper(good, 40);
        const attempt = (apiKey: string) => limited.http.get('/events/rides/export').set(headers(p, apiKey));
        expect((await attempt(bad)).status).toBe(401);
        expect((await attempt(bad)).status).toBe(401);
        const blocked = await attempt(bad);
        expect(blocked.status).toBe(429);
        expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
        expect((await attempt(good)).status).toBe(200);
      } finally {
        await limited.close();
      }
    });
  });

  it('never logs a filtered key, valid or not, nor on a 500', async () => {
    const previous = process.env.TEST_LOG;
    process.env.TEST_LOG = '1'; // error, warn and log lines
    const logged = await startTestApp();
    const lines: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) => {
      const write = stream.write.bind(stream);
      return jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
        lines.push(String(chunk));
        return write(chunk, ...rest);
      }) as typeof stream.write);
    });
    try {
      const p = await logged.createProject();
      const apiKey = makeFilteredKey({ filters: { tenant: 'a' }, canQuery: true, canPush: true }, p.keys.master);
      const invalid = tamper(apiKey, 40);
      expect((await logged.http.post('/events/logs').set(headers(p, apiKey)).send({ a: 1 })).status).toBe(200);
      expect((await logged.http.get('/events/logs/export').set(headers(p, invalid))).status).toBe(401);
      jest.spyOn(logged.app.get(EventsService), 'pushOne').mockRejectedValueOnce(new Error('boom'));
      expect((await logged.http.post('/events/logs').set(headers(p, apiKey)).send({ a: 1 })).status).toBe(500);
      const text = lines.join('').toLowerCase();
      expect(text).toContain('boom');
      for (const secret of [apiKey, invalid, apiKey.slice(33), p.keys.master]) {
        expect(text).not.toContain(secret.toLowerCase());
      }
    } finally {
      spies.forEach((spy) => spy.mockRestore());
      process.env.TEST_LOG = previous;
      if (previous === undefined) delete process.env.TEST_LOG;
      await logged.close();
    }
  });
});

describe('key reset and project listing (docs/keys.md)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const admin = { 'X-Admin-Token': TEST_ADMIN_TOKEN };

  describe('POST /projects/:projectId/keys/reset', () => {
    it('answers 200 with four new keys; the old keys and filtered keys of the old master key are refused by every process', async () => {
      const other = await startTestApp(); // a second API process on the same database
      try {
        const project = await t.createProject('reset me');
        expect((await t.http.post('/events/kept').set(auth(project)).send({ tenant: 'a', n: 1 })).status).toBe(200);
        const filtered = makeFilteredKey({ filters: { tenant: 'a' }, canQuery: true, canPush: true }, project.keys.master);
        // Cached in both processes before the reset.
        for (const app of [t, other]) {
          expect((await app.http.get('/events/kept/export').set(headers(project, filtered))).body.results).toHaveLength(1);
        }

        const res = await t.http.post(`/projects/${project.projectId}/keys/reset`).set(admin);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          projectId: project.projectId,
          name: 'reset me',
          keys: {
            master: expect.stringMatching(/^[0-9a-f]{32}$/),
            pushQuery: expect.stringMatching(/^[0-9a-f]{32}$/),
            push: expect.stringMatching(/^[0-9a-f]{32}$/),
            query: expect.stringMatching(/^[0-9a-f]{32}$/),
          },
        });
        const fresh = res.body as CreatedProject;
        expect(new Set([...Object.values(project.keys), ...Object.values(fresh.keys)]).size).toBe(8);

        for (const app of [t, other]) {
          for (const old of Object.values(project.keys)) {
            const refused = await app.http.get('/events/kept/export').set(headers(project, old));
            expect([refused.status, refused.body]).toEqual([401, UNAUTHORISED]);
          }
          const refused = await app.http.get('/events/kept/export').set(headers(project, filtered));
          expect([refused.status, refused.body]).toEqual([401, INVALID]);
          // The new keys work, filtered keys of the new master key too; the events are kept.
          expect((await app.http.get('/events/kept/export').set(headers(fresh, fresh.keys.query))).body.results).toHaveLength(1);
          const renewed = makeFilteredKey({ filters: { tenant: 'a' }, canQuery: true }, fresh.keys.master, { case: 'lower' });
          expect((await app.http.get('/events/kept/export').set(headers(fresh, renewed))).body.results).toHaveLength(1);
          expect((await app.http.post('/events/after-reset').set(headers(fresh, fresh.keys.push)).send({ n: 2 })).status).toBe(200);
        }
      } finally {
        await other.close();
      }
    });

    it('answers 401 without a valid admin token, and 404 for an unknown project', async () => {
      const project = await t.createProject();
      for (const token of [{}, { 'X-Admin-Token': 'wrong' }]) {
        const res = await t.http.post(`/projects/${project.projectId}/keys/reset`).set(token);
        expect([res.status, res.body]).toEqual([401, { errorMessage: 'Missing or wrong X-Admin-Token.' }]);
      }
      // Nothing changed.
      expect((await t.http.get('/events/x/export').set(auth(project, 'query'))).status).toBe(200);
      for (const id of ['0'.repeat(24), 'not-a-project']) {
        const res = await t.http.post(`/projects/${id}/keys/reset`).set(admin);
        expect([res.status, res.body]).toEqual([404, { errorMessage: `No project '${id}'.` }]);
      }
    });

    it('answers 403 when ADMIN_TOKEN is not set', async () => {
      const off = await startTestApp({ ADMIN_TOKEN: '' });
      try {
        const project = await off.createProject();
        const res = await off.http.post(`/projects/${project.projectId}/keys/reset`).set(admin);
        expect([res.status, res.body]).toEqual([403, { errorMessage: 'Admin endpoints are disabled. Set ADMIN_TOKEN to enable them.' }]);
        expect((await off.http.get('/projects').set(admin)).status).toBe(403);
      } finally {
        await off.close();
      }
    });
  });

  describe('GET /projects', () => {
    it('lists projects newest first, as id, name and created, never a key, page by page', async () => {
      const mine: CreatedProject[] = [];
      for (const name of ['list 1', 'list 2', 'list 3']) {
        mine.push(await t.createProject(name));
      }
      const first = await t.http.get('/projects').query({ limit: 1 }).set(admin);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        results: [
          {
            projectId: expect.stringMatching(/^[0-9a-f]{24}$/),
            name: expect.any(String),
            created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          },
        ],
        next: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      });

      // Walk every page (other test files add projects meanwhile): each project once, in order.
      const seen: Array<{ projectId: string; name: string; created: string }> = [];
      let cursor: string | null = null;
      let text = '';
      do {
        const page: Response = await t.http
          .get('/projects')
          .query(cursor ? { limit: 50, cursor } : { limit: 50 })
          .set(admin);
        expect(page.status).toBe(200);
        text += page.text;
        seen.push(...page.body.results);
        cursor = page.body.next;
      } while (cursor);
      expect(new Set(seen.map((p) => p.projectId)).size).toBe(seen.length);
      for (let i = 1; i < seen.length; i++) {
        expect(seen[i - 1].created >= seen[i].created).toBe(true);
      }
      const positions = mine.map((p) => seen.findIndex((s) => s.projectId === p.projectId));
      expect(positions.every((i) => i >= 0)).toBe(true);
      expect([...positions].sort((a, b) => b - a)).toEqual(positions); // list 3 before list 2 before list 1
      expect(seen[positions[0]]).toEqual({ projectId: mine[0].projectId, name: 'list 1', created: expect.any(String) });
      for (const p of mine) {
        for (const secret of Object.values(p.keys)) expect(text).not.toContain(secret);
      }
      expect(text).not.toMatch(/"keys"|master/);
    });

    it('answers 422 for a bad limit or cursor, and 401 without a valid admin token', async () => {
      const limitError = { errors: [{ field: 'limit', description: 'limit must be an integer from 1 to 100' }] };
      for (const limit of ['0', '101', 'abc', '1e1']) {
        const res = await t.http.get('/projects').query({ limit }).set(admin);
        expect([limit, res.status, res.body]).toEqual([limit, 422, limitError]);
      }
      const bracketed = await t.http.get('/projects?limit[]=1').set(admin);
      expect([bracketed.status, bracketed.body.errors[0].field]).toEqual([422, 'limit']);
      const cursor = await t.http.get('/projects').query({ cursor: 'bad' }).set(admin);
      expect([cursor.status, cursor.body]).toEqual([
        422,
        { errors: [{ field: 'cursor', description: 'cursor must be the `next` value of an earlier GET /projects answer.' }] },
      ]);
      for (const token of [{}, { 'X-Admin-Token': 'wrong' }]) {
        const res = await t.http.get('/projects').set(token);
        expect([res.status, res.body]).toEqual([401, { errorMessage: 'Missing or wrong X-Admin-Token.' }]);
      }
    });
  });
});
