import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { ExportStatus } from './support/exports';
import { auth, startTestApp, TestApp, testKeyPrefix } from './support/test-app';

/** Nothing listens there: with ROLE api no upload is ever tried, and the path only has to be allowed. */
const S3_ENDPOINT = 'http://127.0.0.1:9';
const CREDENTIALS = { s3AccessKeyId: 'AKIAMANAGEMENTTEST01', s3SecretAccessKey: 'management-test-secret-0123456789' };
const CANCELLED = 'The export was cancelled.';

type ListItem = ExportStatus & { id: string };

const idOf = (doc: { filename: string }) => doc.filename.slice(0, 24);

describe('S3 export management: cancel, list, pending cap, compression', () => {
  // ROLE api: no worker, so every export created here stays Pending until cancelled.
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp({
      ROLE: 'api',
      S3_ALLOWED_ENDPOINTS: S3_ENDPOINT,
      EXPORT_MAX_PENDING_PER_PROJECT: '1000',
      RATE_LIMIT_S3_EXPORTS: '100000',
    });
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());

  const create = (app: TestApp, p: CreatedProject, collection: string, extra: Record<string, unknown> = {}) =>
    app.http
      .post(`/events/${collection}/export`)
      .set(auth(p, 'query'))
      .send({ s3Path: `${S3_ENDPOINT}/bucket/pre/fix/`, ...CREDENTIALS, ...extra });
  const created = async (app: TestApp, p: CreatedProject, collection: string, extra: Record<string, unknown> = {}) => {
    const res = await create(app, p, collection, extra);
    expect(res.status).toBe(201);
    return res.body as ExportStatus;
  };
  const row = async (id: string) => {
    const [r] = await db.query(
      'SELECT status, error, finished_at, started_at, attempts, s3_credentials_encrypted, s3_key, compression FROM exports WHERE id = $1',
      [id],
    );
    return r;
  };

  describe('DELETE /events/:collection/export/:id', () => {
    let project: CreatedProject;
    let other: CreatedProject;
    beforeAll(async () => {
      project = await t.createProject('cancel');
      other = await t.createProject('cancel-other');
    });

    it('cancels a Pending export: 200 Failed with the message, the monitor agrees, credentials wiped, a second DELETE is 409', async () => {
      const doc = await created(t, project, 'orders');
      const id = idOf(doc);
      expect((await row(id)).s3_credentials_encrypted).toMatch(/^v1\./);
      const before = Date.now();
      const res = await t.http.delete(`/events/orders/export/${id}`).set(auth(project, 'query'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...doc, status: 'Failed', error: CANCELLED, finished: expect.any(String) });
      expect(Date.parse(res.body.finished)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(res.body.finished)).toBeLessThanOrEqual(Date.now() + 1000);

      const monitor = await t.http.get(`/events/orders/export/${id}`).set(auth(project, 'query'));
      expect(monitor.status).toBe(200);
      expect(monitor.body).toEqual(res.body);
      expect(await row(id)).toMatchObject({ status: 'Failed', error: CANCELLED, started_at: null, s3_credentials_encrypted: null });

      const again = await t.http.delete(`/events/orders/export/${id}`).set(auth(project, 'query'));
      expect(again.status).toBe(409);
      expect(again.body).toEqual({ errorMessage: expect.stringMatching(/already finished/) });
      // The 409 changed nothing.
      expect((await t.http.get(`/events/orders/export/${id}`).set(auth(project, 'query'))).body).toEqual(res.body);
    });

    it('accepts every key that can query (master, push+query, query) and refuses push keys (403) and no key (401)', async () => {
      for (const key of ['master', 'pushQuery', 'query'] as const) {
        const id = idOf(await created(t, project, 'keys'));
        const res = await t.http.delete(`/events/keys/export/${id}`).set(auth(project, key));
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('Failed');
      }
      const id = idOf(await created(t, project, 'keys'));
      expect((await t.http.delete(`/events/keys/export/${id}`).set(auth(project, 'push'))).status).toBe(403);
      expect((await t.http.delete(`/events/keys/export/${id}`)).status).toBe(401);
      expect((await row(id)).status).toBe('Pending');
    });

    it("answers 404 for an unknown id, a malformed one, another collection's or another project's, and cancels nothing", async () => {
      const id = idOf(await created(t, project, 'mine'));
      for (const [path, p] of [
        [`/events/mine/export/${'0'.repeat(24)}`, project],
        ['/events/mine/export/not-an-id', project],
        [`/events/theirs/export/${id}`, project],
        [`/events/mine/export/${id}`, other],
      ] as const) {
        const res = await t.http.delete(path).set(auth(p, 'query'));
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ errorMessage: expect.stringMatching(/^No export/) });
      }
      expect(await row(id)).toMatchObject({ status: 'Pending', error: null, finished_at: null });
      const badCollection = await t.http.delete(`/events/%0A/export/${id}`).set(auth(project, 'query'));
      expect(badCollection.status).toBe(422);
      expect(badCollection.body.errors[0].field).toBe('collection');
    });

    it('cancels a Running export, keeping the credentials only when a multipart upload exists', async () => {
      const withUpload = idOf(await created(t, project, 'running'));
      const withoutUpload = idOf(await created(t, project, 'running'));
      await db.query(`UPDATE exports SET status = 'Running', started_at = now(), upload_id = 'upload-1' WHERE id = $1`, [withUpload]);
      await db.query(`UPDATE exports SET status = 'Running', started_at = now() WHERE id = $1`, [withoutUpload]);
      for (const id of [withUpload, withoutUpload]) {
        const res = await t.http.delete(`/events/running/export/${id}`).set(auth(project, 'query'));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'Failed', error: CANCELLED, started: expect.any(String), finished: expect.any(String) });
      }
      expect((await row(withUpload)).s3_credentials_encrypted).toMatch(/^v1\./);
      expect((await row(withoutUpload)).s3_credentials_encrypted).toBeNull();
    });

    it('answers 409 for a Complete export, leaving it Complete', async () => {
      const id = idOf(await created(t, project, 'done'));
      await db.query(
        `UPDATE exports SET status = 'Complete', started_at = now(), finished_at = now(), percent_done = 100, s3_credentials_encrypted = NULL WHERE id = $1`,
        [id],
      );
      const res = await t.http.delete(`/events/done/export/${id}`).set(auth(project, 'query'));
      expect(res.status).toBe(409);
      expect(res.body.errorMessage).toMatch(/already finished/);
      expect(await row(id)).toMatchObject({ status: 'Complete', error: null });
    });

    it('a cancelled Pending export never starts, even when a worker takes its job', async () => {
      const prefix = testKeyPrefix('cancel');
      const api = await startTestApp({ ROLE: 'api', QUEUE_PREFIX: prefix, S3_ALLOWED_ENDPOINTS: S3_ENDPOINT });
      let worker: TestApp | null = null;
      try {
        const doc = await created(api, project, 'never');
        const id = idOf(doc);
        const queue = api.app.get<Queue>(getQueueToken('exports'));
        expect(await queue.getJobCounts()).toMatchObject({ waiting: 1 });
        expect((await api.http.delete(`/events/never/export/${id}`).set(auth(project, 'query'))).status).toBe(200);

        // Role all (createHttpApp runs the worker only then), on the queue holding the export's job.
        worker = await startTestApp({ ROLE: 'all', QUEUE_PREFIX: prefix, S3_ALLOWED_ENDPOINTS: S3_ENDPOINT });
        const deadline = Date.now() + 20_000;
        let counts = await queue.getJobCounts();
        while ((counts.waiting > 0 || counts.active > 0) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          counts = await queue.getJobCounts();
        }
        expect(counts).toMatchObject({ waiting: 0, active: 0 });
        expect(await row(id)).toMatchObject({ status: 'Failed', error: CANCELLED, started_at: null, attempts: 0 });
        const monitor = await api.http.get(`/events/never/export/${id}`).set(auth(project, 'query'));
        expect(monitor.body).toMatchObject({ status: 'Failed', started: null, error: CANCELLED, percentDone: 0 });
      } finally {
        await worker?.close();
        await api.close();
      }
    });
  });

  describe('GET /exports', () => {
    let a: CreatedProject;
    let b: CreatedProject;
    /** A's 45 exports in the expected order: created_at descending, then id descending. */
    let expected: string[];
    let cancelled: string[];

    beforeAll(async () => {
      a = await t.createProject('list-a');
      b = await t.createProject('list-b');
      const ids: Array<{ id: string; collection: string }> = [];
      for (let i = 0; i < 45; i++) {
        const collection = i % 3 === 0 ? 'beta' : 'alpha';
        ids.push({ id: idOf(await created(t, a, collection)), collection });
      }
      // Creation times a microsecond apart, three exports per instant: a cursor keeping only
      // milliseconds would skip or repeat exports, and ties must fall back to the id.
      const base = Date.parse('2026-03-01T12:00:00.000Z');
      const times: Array<{ id: string; micros: number }> = ids.map(({ id }, i) => ({ id, micros: Math.floor(i / 3) }));
      for (const { id, micros } of times) {
        const at = `${new Date(base).toISOString().slice(0, 20)}000${String(micros).padStart(3, '0')}Z`;
        await db.query('UPDATE exports SET created_at = $2::timestamptz WHERE id = $1', [id, at]);
      }
      expected = [...times].sort((x, y) => y.micros - x.micros || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0)).map((x) => x.id);
      // Seven Failed (two of them in beta), the rest Complete, set directly: finished exports, so that no worker of another
      // test file (their sweeps queue every unfinished export of the database) changes them meanwhile.
      cancelled = ids.filter((_, i) => i % 7 === 1).map((x) => x.id);
      await db.query(
        `UPDATE exports SET status = 'Complete', started_at = created_at, finished_at = created_at, percent_done = 100 WHERE project_id = $1`,
        [a.projectId],
      );
      await db.query(`UPDATE exports SET status = 'Failed', error = $2, percent_done = 0 WHERE id = ANY($1)`, [cancelled, CANCELLED]);
      for (let i = 0; i < 2; i++) {
        await created(t, b, 'alpha');
      }
    });

    const list = (p: CreatedProject, query: Record<string, string | string[]> = {}, key: keyof CreatedProject['keys'] = 'query') =>
      t.http.get('/exports').query(query).set(auth(p, key));
    /** Every page of a listing, following `next`. */
    const allPages = async (p: CreatedProject, query: Record<string, string> = {}) => {
      const pages: Array<{ results: ListItem[]; next: string | null }> = [];
      let cursor: string | null = null;
      do {
        const res = await list(p, cursor === null ? query : { ...query, cursor });
        expect(res.status).toBe(200);
        pages.push(res.body);
        cursor = res.body.next;
      } while (cursor !== null && pages.length < 50);
      return pages;
    };

    it('pages 45 exports 20 at a time, newest first, without duplicates or gaps', async () => {
      const pages = await allPages(a, { limit: '20' });
      expect(pages.map((p) => p.results.length)).toEqual([20, 20, 5]);
      expect(pages[0].next).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
      expect(pages[1].next).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
      expect(pages[2].next).toBeNull();
      expect(pages.flatMap((p) => p.results.map((r) => r.id))).toEqual(expected);
    });

    it('answers each export as its id plus its monitor document, field for field', async () => {
      const res = await list(a, { limit: '3' });
      expect(res.status).toBe(200);
      for (const item of res.body.results as ListItem[]) {
        expect(Object.keys(item).sort()).toEqual(
          [
            'id',
            'filename',
            'collection',
            'status',
            'created',
            'started',
            'finished',
            'error',
            'percentDone',
            'transferredBytes',
            'totalBytes',
          ].sort(),
        );
        const monitor = await t.http.get(`/events/${item.collection}/export/${item.id}`).set(auth(a, 'query'));
        expect(item).toEqual({ id: item.id, ...monitor.body });
        expect(item.filename).toBe(`${item.id}.json`);
      }
      expect(res.body.results[0].created).toBe('2026-03-01T12:00:00.000Z');
    });

    it('defaults to 20 per page and takes up to 100', async () => {
      const first = await list(a);
      expect(first.body.results.map((r: ListItem) => r.id)).toEqual(expected.slice(0, 20));
      expect(first.body.next).not.toBeNull();
      const all = await list(a, { limit: '100' });
      expect(all.body.results.map((r: ListItem) => r.id)).toEqual(expected);
      expect(all.body.next).toBeNull();
      const one = await list(a, { limit: '1' });
      expect(one.body.results.map((r: ListItem) => r.id)).toEqual(expected.slice(0, 1));
    });

    it('filters by status and collection, alone and together, across pages', async () => {
      const failed = (await allPages(a, { status: 'Failed', limit: '2' })).flatMap((p) => p.results);
      expect(failed.map((r) => r.id)).toEqual(expected.filter((id) => cancelled.includes(id)));
      expect(failed.every((r) => r.status === 'Failed' && r.error === CANCELLED)).toBe(true);
      const complete = (await allPages(a, { status: 'Complete' })).flatMap((p) => p.results);
      expect(complete.map((r) => r.id)).toEqual(expected.filter((id) => !cancelled.includes(id)));
      expect(complete.every((r) => r.status === 'Complete' && r.percentDone === 100)).toBe(true);
      expect((await list(a, { status: 'Pending' })).body).toEqual({ results: [], next: null });
      expect((await list(a, { status: 'Running' })).body).toEqual({ results: [], next: null });

      const beta = (await allPages(a, { collection: 'beta', limit: '4' })).flatMap((p) => p.results);
      expect(beta).toHaveLength(15);
      expect(beta.every((r) => r.collection === 'beta')).toBe(true);
      expect(beta.map((r) => r.id)).toEqual(expected.filter((id) => beta.some((r) => r.id === id)));
      const betaFailed = (await list(a, { collection: 'beta', status: 'Failed' })).body.results as ListItem[];
      expect(betaFailed.map((r) => r.id)).toEqual(beta.filter((r) => cancelled.includes(r.id)).map((r) => r.id));
      expect(betaFailed.length).toBeGreaterThan(0);
      expect(betaFailed.length).toBeLessThan(cancelled.length);
      // Exact names only: no prefix or case-insensitive match.
      expect((await list(a, { collection: 'bet' })).body.results).toEqual([]);
      expect((await list(a, { collection: 'BETA' })).body.results).toEqual([]);
    });

    it("never shows another project's exports, also with that project's cursor", async () => {
      const mine = (await list(b)).body;
      expect(mine.results).toHaveLength(2);
      expect(mine.next).toBeNull();
      expect(mine.results.some((r: ListItem) => expected.includes(r.id))).toBe(false);
      const aCursor = (await list(a, { limit: '20' })).body.next as string;
      const withForeignCursor = await list(b, { cursor: aCursor });
      expect(withForeignCursor.status).toBe(200);
      expect(withForeignCursor.body.results.every((r: ListItem) => !expected.includes(r.id))).toBe(true);
      const aAll = (await allPages(a)).flatMap((p) => p.results.map((r) => r.id));
      expect(aAll).toHaveLength(45);
      expect(aAll.some((id) => mine.results.some((r: ListItem) => r.id === id))).toBe(false);
    });

    it.each([
      ['limit', { limit: '0' }],
      ['limit', { limit: '101' }],
      ['limit', { limit: 'abc' }],
      ['limit', { limit: '1.5' }],
      ['limit', { limit: '-1' }],
      ['limit', { limit: '' }],
      ['limit', { limit: ['5', '6'] }],
      ['status', { status: 'Done' }],
      ['status', { status: 'pending' }],
      ['status', { status: ['Pending', 'Failed'] }],
      ['collection', { collection: '' }],
      ['collection', { collection: 'a/b' }],
      ['collection', { collection: ['alpha', 'beta'] }],
      ['cursor', { cursor: 'not a cursor!' }],
      ['cursor', { cursor: Buffer.from('garbage').toString('base64url') }],
      ['cursor', { cursor: Buffer.from(`2026-02-30T00:00:00.000000Z,${'a'.repeat(24)}`).toString('base64url') }],
      ['cursor', { cursor: Buffer.from(`2026-03-01T12:00:00.000000Z,${'x'.repeat(24)}`).toString('base64url') }],
      ['cursor', { cursor: ['a', 'b'] }],
      // Bracketed forms (Rails, PHP) would otherwise be ignored, and the client believe its filter applied.
      ['collection', { 'collection[]': 'alpha' }],
      ['status', { 'status[a]': 'Pending' }],
      ['limit', { 'limit[]': '5' }],
      ['cursor', { 'cursor[]': 'x' }],
    ])('answers 422 naming %s for %j', async (field, query) => {
      const res = await list(a, query);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ errors: [{ field, description: expect.any(String) }] });
    });

    it('accepts every key that can query, and refuses push keys (403) and no key (401)', async () => {
      for (const key of ['master', 'pushQuery', 'query'] as const) {
        expect((await list(b, {}, key)).status).toBe(200);
      }
      expect((await list(b, {}, 'push')).status).toBe(403);
      expect((await t.http.get('/exports')).status).toBe(401);
    });
  });

  describe('EXPORT_MAX_PENDING_PER_PROJECT', () => {
    let capped: TestApp;
    beforeAll(async () => {
      capped = await startTestApp({
        ROLE: 'api',
        S3_ALLOWED_ENDPOINTS: S3_ENDPOINT,
        EXPORT_MAX_PENDING_PER_PROJECT: '3',
        RATE_LIMIT_S3_EXPORTS: '100000',
      });
    });
    afterAll(() => capped.close());

    it('answers 429 with Retry-After once the project has 3 unfinished exports, and accepts again after a cancellation', async () => {
      const p = await capped.createProject('cap');
      const other = await capped.createProject('cap-other');
      const docs = [];
      for (let i = 0; i < 3; i++) {
        docs.push(await created(capped, p, 'capped'));
      }
      const refused = await create(capped, p, 'capped');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('30');
      expect(refused.body).toEqual({ errorMessage: expect.stringMatching(/already has 3 unfinished S3 exports/) });
      // Validation still comes first; other projects are not affected.
      const invalid = await create(capped, p, 'capped', { compression: 'zip' });
      expect(invalid.status).toBe(422);
      await created(capped, other, 'capped');
      const [{ count }] = await db.query(`SELECT count(*)::int AS count FROM exports WHERE project_id = $1`, [p.projectId]);
      expect(count).toBe(3);

      // Finished exports do not count: a cancelled one frees its place.
      expect((await capped.http.delete(`/events/capped/export/${idOf(docs[0])}`).set(auth(p, 'query'))).status).toBe(200);
      await created(capped, p, 'capped');
      expect((await create(capped, p, 'capped')).status).toBe(429);
    });

    it('lets exactly (cap − unfinished) of 10 concurrent POSTs through', async () => {
      const p = await capped.createProject('cap-race');
      await created(capped, p, 'race');
      const answers = await Promise.all(Array.from({ length: 10 }, () => create(capped, p, 'race')));
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 201, 429, 429, 429, 429, 429, 429, 429, 429]);
      expect(answers.filter((r) => r.status === 429).every((r) => r.headers['retry-after'] === '30')).toBe(true);
      const [{ count }] = await db.query(
        `SELECT count(*)::int AS count FROM exports WHERE project_id = $1 AND status IN ('Pending', 'Running')`,
        [p.projectId],
      );
      expect(count).toBe(3);
    });
  });

  describe('compression', () => {
    let project: CreatedProject;
    beforeAll(async () => {
      project = await t.createProject('compression');
    });

    it('gzip names the object <prefix><id>.json.gz and the monitor filename <id>.json.gz', async () => {
      const doc = await created(t, project, 'gz', { compression: 'gzip' });
      const id = idOf(doc);
      expect(id).toMatch(/^[0-9a-f]{24}$/);
      expect(doc.filename).toBe(`${id}.json.gz`);
      expect(await row(id)).toMatchObject({ s3_key: `pre/fix/${id}.json.gz`, compression: 'gzip' });
      const monitor = await t.http.get(`/events/gz/export/${id}`).set(auth(project, 'query'));
      expect(monitor.body.filename).toBe(`${id}.json.gz`);
      const listed = (await t.http.get('/exports').query({ collection: 'gz' }).set(auth(project, 'query'))).body.results;
      expect(listed.map((r: ListItem) => [r.id, r.filename])).toEqual([[id, `${id}.json.gz`]]);
    });

    it('none, or no compression, names it <prefix><id>.json', async () => {
      for (const extra of [{ compression: 'none' }, {}]) {
        const doc = await created(t, project, 'plain', extra);
        const id = idOf(doc);
        expect(doc.filename).toBe(`${id}.json`);
        expect(await row(id)).toMatchObject({ s3_key: `pre/fix/${id}.json`, compression: 'none' });
      }
    });

    it.each([['zip'], ['GZIP'], [''], [null], [1], [true], [['gzip']], [{ type: 'gzip' }]])(
      'answers 422 on compression for %j, creating nothing',
      async (compression) => {
        const [{ count: before }] = await db.query('SELECT count(*)::int AS count FROM exports WHERE project_id = $1', [project.projectId]);
        const res = await create(t, project, 'bad', { compression });
        expect(res.status).toBe(422);
        expect(res.body).toEqual({ errors: [{ field: 'compression', description: 'compression must be "none" or "gzip"' }] });
        const [{ count: after }] = await db.query('SELECT count(*)::int AS count FROM exports WHERE project_id = $1', [project.projectId]);
        expect(after).toBe(before);
      },
    );
  });
});
