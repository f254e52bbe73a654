import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { ecommerceEvents } from '../scripts/lib/ecommerce-events';
import type { CreatedProject } from '../src/projects/projects.service';
import { ExportStatus, pathOf, waitForExport } from './support/exports';
import { expectNoIncompleteUploads, startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';

describe('S3 export POST /events/:collection/export (Connect docs, "Exporting events")', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const BUCKET = 'exports';

  beforeAll(async () => {
    // Credentials unique enough that finding them anywhere (Redis, rows, logs) means a leak.
    s3 = await startS3Server({
      buckets: [BUCKET, 'other'],
      accessKeyId: 'AKIAEXPORTTEST7Q2X9Z',
      secretAccessKey: 'export-test-secret-5f1c9e0b7a3d4c2e8b6a',
    });
    // A second allowed endpoint where nothing listens: an unreachable S3.
    // Two attempts, 100 ms apart: an unreachable endpoint is retried (it may come back), then Failed.
    t = await startTestApp({
      S3_ALLOWED_ENDPOINTS: `${s3.endpoint},http://127.0.0.1:9`,
      EXPORT_MAX_ATTEMPTS: '2',
      EXPORT_RETRY_BASE_DELAY_MS: '100',
    });
    project = await t.createProject();
  });
  afterAll(async () => {
    await expectNoIncompleteUploads(s3, { timeoutMs: 5000 }); // failed and cancelled exports aborted theirs
    await t.close();
    await s3.close();
  });

  const credentials = () => ({ s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
  const startExport = (collection: string, body: Record<string, unknown>, p: CreatedProject = project) =>
    t.http.post(`/events/${collection}/export`).set(auth(p, 'query')).send(body);
  const pushAll = async (collection: string, events: Array<Record<string, unknown>>) => {
    for (let i = 0; i < events.length; i += 5000) {
      const res = await t.http
        .post('/events')
        .set(auth(project, 'push'))
        .send({ [collection]: events.slice(i, i + 5000) });
      expect(res.status).toBe(200);
      expect(res.body[collection].every((r: { success: boolean }) => r.success)).toBe(true);
    }
  };
  const run = async (collection: string, body: Record<string, unknown>) => {
    const res = await startExport(collection, body);
    expect(res.status).toBe(201);
    return { created: res, ...(await waitForExport(t.http, pathOf(res.headers.location), auth(project, 'query'))) };
  };

  it('exports 25,000 pushed events as NDJSON, event for event, while progress moves', async () => {
    const events = [...ecommerceEvents(25_000, { seed: 42, end: new Date('2026-11-01T00:00:00Z'), days: 90 })];
    await pushAll('purchases', events);
    const { created, final, readings } = await run('purchases', {
      query: { timeframe: { start: '2026-01-01T00:00:00Z' } },
      s3Path: `${s3.endpoint}/${BUCKET}/exports/`,
      ...credentials(),
    });

    const id = created.body.filename.replace(/\.json$/, '');
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(created.headers.location).toBe(`${t.baseUrl}/events/purchases/export/${id}`);
    expect(created.body).toEqual({
      filename: `${id}.json`,
      collection: 'purchases',
      status: 'Pending',
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      started: null,
      finished: null,
      error: null,
      percentDone: 0,
      transferredBytes: 0,
      totalBytes: 0,
    });

    const object = await s3.getObject(BUCKET, `exports/${id}.json`);
    expect(final).toEqual({
      ...created.body,
      status: 'Complete',
      started: expect.any(String),
      finished: expect.any(String),
      percentDone: 100,
      transferredBytes: object.length,
      totalBytes: object.length,
    });
    expect(Date.parse(final.started!)).toBeLessThanOrEqual(Date.parse(final.finished!));
    expect(readings.some((r) => r.status === 'Running' && r.percentDone > 0 && r.percentDone < 100)).toBe(true);

    const text = object.toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line));
    const expected = [...events]
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (a.e.timestamp as string).localeCompare(b.e.timestamp as string) || a.i - b.i)
      .map(({ e }) => e);
    expect(lines).toHaveLength(25_000);
    for (let i = 0; i < expected.length; i++) {
      if (JSON.stringify(sortKeys(lines[i])) !== JSON.stringify(sortKeys(expected[i]))) {
        throw new Error(`line ${i} differs:\n${JSON.stringify(lines[i])}\n${JSON.stringify(expected[i])}`);
      }
    }
  });

  it('exports with a filter, to keys built from every accepted prefix form', async () => {
    await pushAll('small', [
      { id: 'a', timestamp: '2015-07-28T00:00:30.295Z', name: 'test', product: 'apple' },
      { id: 'b', timestamp: '2015-07-28T00:00:52.549Z', name: 'test', product: 'pear' },
    ]);
    for (const [path, prefix] of [
      ['folder', 'folder/'],
      ['', ''],
      ['a//b///c/', 'a/b/c/'],
      ['with%20space/', 'with space/'],
    ]) {
      const { created, final } = await run('small', {
        query: { filter: { product: 'apple' } },
        s3Path: `${s3.endpoint}/${BUCKET}/${path}`,
        ...credentials(),
      });
      expect(final.status).toBe('Complete');
      const object = await s3.getObject(BUCKET, `${prefix}${created.body.filename}`);
      expect(object.toString()).toBe('{"id": "a", "timestamp": "2015-07-28T00:00:30.295Z", "name": "test", "product": "apple"}\n');
    }
  });

  it('writes a manifest with the query as it ran: filters in operator form (numbers exact), the timeframe absolute', async () => {
    const { created, final } = await run('small', {
      query:
        '{"filter": {"product": "apple", "price": {"gt": 12345678901234567890.5, "lte": 1e30}}, "timeframe": {"start": "2015-07-28T00:00:00Z"}}',
      s3Path: `${s3.endpoint}/${BUCKET}/manifest/`,
      ...credentials(),
    });
    expect(final.status).toBe('Complete');
    const id = created.body.filename.slice(0, 24);
    const text = (await s3.getObject(BUCKET, `manifest/${id}.manifest.json`)).toString('utf8');
    expect(text).toContain('"gt":12345678901234567890.5');
    const manifest = JSON.parse(text);
    expect(manifest).toEqual({
      exportId: id,
      collection: 'small',
      query: {
        filter: { product: { eq: 'apple' }, price: { gt: 12345678901234567000, lte: 1e30 } },
        timeframe: { start: '2015-07-28T00:00:00.000Z', end: null },
      },
      events: 0,
      bytes: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', // of nothing
      etag: '"d41d8cd98f00b204e9800998ecf8427e"',
      created: final.created,
      finished: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      files: [
        {
          key: `manifest/${id}.json`,
          compression: 'none',
          contentType: 'application/x-ndjson',
          events: 0,
          bytes: 0,
          sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          etag: '"d41d8cd98f00b204e9800998ecf8427e"',
        },
      ],
    });
  });

  it('completes an export matching no events with an empty object', async () => {
    const { created, final } = await run('nothing-here', { s3Path: `${s3.endpoint}/${BUCKET}/empty/`, ...credentials() });
    expect(final).toMatchObject({ status: 'Complete', percentDone: 100, transferredBytes: 0, totalBytes: 0, error: null });
    expect((await s3.getObject(BUCKET, `empty/${created.body.filename}`)).length).toBe(0);
  });

  it('fails within a minute with a clear error and no secret for a wrong secret key, and wipes the credentials', async () => {
    await pushAll('creds', [{ n: 1 }]);
    const secret = 'wrong-secret-value-1234567890';
    const logged: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      }),
    );
    const started = Date.now();
    let outcome: { final: ExportStatus; created: { body: ExportStatus } };
    try {
      outcome = await run('creds', { s3Path: `${s3.endpoint}/${BUCKET}/x/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: secret });
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(outcome.final.status).toBe('Failed');
    expect(outcome.final.finished).not.toBeNull();
    expect(outcome.final.error).toMatch(/SignatureDoesNotMatch/);
    expect(outcome.final.error).not.toMatch(/\.\./);
    expect(outcome.final.error).toMatch(/Check s3AccessKeyId, s3SecretAccessKey/);
    expect(JSON.stringify(outcome.final)).not.toContain(secret);
    expect(logged.join('')).not.toContain(secret);
    const [row] = await t.app
      .get(DataSource)
      .query('SELECT s3_credentials_encrypted FROM exports WHERE id = $1', [outcome.created.body.filename.slice(0, 24)]);
    expect(row.s3_credentials_encrypted).toBeNull();
  });

  it('fails with NoSuchBucket for a missing bucket, and with a clear error for an unreachable endpoint', async () => {
    await pushAll('failures', [{ n: 1 }]);
    const missing = await run('failures', { s3Path: `${s3.endpoint}/no-such-bucket/`, ...credentials() });
    expect(missing.final.status).toBe('Failed');
    expect(missing.final.error).toMatch(/NoSuchBucket/);
    const unreachable = await run('failures', { s3Path: 'http://127.0.0.1:9/bucket/', ...credentials() });
    expect(unreachable.final.status).toBe('Failed');
    expect(unreachable.final.error).toBe(
      'Could not reach S3 to upload s3://bucket/' +
        String(unreachable.created.body.filename) +
        ' at http://127.0.0.1:9: ECONNREFUSED. Gave up after 2 attempts.',
    );
  });

  it('keeps credentials encrypted at rest and out of Redis job data', async () => {
    await pushAll('secrets', [{ n: 1 }]);
    const queue: Queue = t.app.get(getQueueToken('exports'));
    await queue.pause(true); // hold this process's worker so the job stays in Redis to inspect
    let res;
    try {
      res = await startExport('secrets', { s3Path: `${s3.endpoint}/${BUCKET}/s/`, ...credentials() });
      expect(res.status).toBe(201);
      const id = res.body.filename.slice(0, 24);
      const [row] = await t.app.get(DataSource).query('SELECT * FROM exports WHERE id = $1', [id]);
      expect(row.s3_credentials_encrypted).toMatch(/^v1\./);
      expect(JSON.stringify(row)).not.toContain(s3.secretAccessKey);
      expect(JSON.stringify(row)).not.toContain(s3.accessKeyId);
      const job = await queue.getJob(id);
      expect(job?.data).toEqual({ exportId: id });
      const redis = queue.client;
      const keys = await redis.keys(`${t.config.redis.queuePrefix}:exports:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const type = await redis.type(key);
        const dump =
          type === 'hash'
            ? JSON.stringify(await redis.hgetall(key))
            : type === 'list'
              ? JSON.stringify(await redis.lrange(key, 0, -1))
              : type === 'zset'
                ? JSON.stringify(await redis.zrange(key, 0, -1))
                : type === 'string'
                  ? String(await redis.get(key))
                  : '';
        expect(dump).not.toContain(s3.secretAccessKey);
        expect(dump).not.toContain(s3.accessKeyId);
      }
    } finally {
      await queue.resume(true);
    }
    const { final } = await waitForExport(t.http, pathOf(res.headers.location), auth(project, 'query'));
    expect(final.status).toBe('Complete');
  });

  it.each([
    ['an internal address', 'http://169.254.169.254/latest/'],
    ['a non-S3 https host', 'https://example.com/bucket/'],
    ['an AWS host over http', 'http://my-bucket.s3.amazonaws.com/'],
    ['not a URL', 'my-bucket/exports'],
    ['an invalid bucket name', 's3://My_Bucket/exports'],
    ['credentials in the URL', 's3://user:pass@bucket/x'],
  ])('answers 422 for an s3Path with %s', async (_label, s3Path) => {
    const res = await startExport('purchases', { s3Path, ...credentials() });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 's3Path', description: expect.any(String) }]);
  });

  it('answers 422 for missing fields and invalid queries, before creating anything', async () => {
    const missing = await startExport('purchases', {});
    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({
      errors: [
        { field: 's3Path', description: 's3Path must be a string' },
        { field: 's3AccessKeyId', description: 's3AccessKeyId must be a string' },
        { field: 's3SecretAccessKey', description: 's3SecretAccessKey must be a string' },
      ],
    });
    const controlCharacters = await startExport('purchases', {
      s3Path: `${s3.endpoint}/${BUCKET}/`,
      s3AccessKeyId: 'AKIA\r\nX-Evil: 1',
      s3SecretAccessKey: 'a\u0000b',
    });
    expect(controlCharacters.body).toEqual({
      errors: [
        { field: 's3AccessKeyId', description: 's3AccessKeyId must be printable ASCII without spaces' },
        { field: 's3SecretAccessKey', description: 's3SecretAccessKey must be printable ASCII without spaces' },
      ],
    });
    const traversal = await startExport('purchases', { s3Path: `${s3.endpoint}/${BUCKET}/..%2fother%2fx`, ...credentials() });
    expect(traversal.status).toBe(422);
    expect(traversal.body.errors).toEqual([{ field: 's3Path', description: "The s3Path prefix cannot contain '.' or '..' segments." }]);
    const proto = await t.http
      .post('/events/purchases/export')
      .set(auth(project, 'query'))
      .set('Content-Type', 'application/json')
      .send(
        `{"query":{"filter":{"__proto__":{"exists":true}}},"s3Path":"${s3.endpoint}/${BUCKET}/","s3AccessKeyId":"a","s3SecretAccessKey":"b"}`,
      );
    expect(proto.status).toBe(422);
    expect(proto.body).toEqual({
      errors: [{ field: 'query.filter.__proto__', description: '__proto__ cannot be used as a property name.' }],
    });
    const select = await startExport('purchases', {
      query: { select: { n: 'count' } },
      s3Path: `${s3.endpoint}/${BUCKET}/`,
      ...credentials(),
    });
    expect(select.status).toBe(422);
    expect(select.body.errors[0].field).toBe('select');
    const relaxed = await startExport('purchases', { query: '{filter:', s3Path: `${s3.endpoint}/${BUCKET}/`, ...credentials() });
    expect(relaxed.body).toEqual({ errors: [{ field: 'query', description: 'The query JSON supplied is not valid.' }] });
  });

  it("answers 404 for an unknown export, another collection's, or another project's (and 401, 403, 422)", async () => {
    const other = await t.createProject('other');
    const { created } = await run('small', { s3Path: `${s3.endpoint}/${BUCKET}/`, ...credentials() });
    const id = created.body.filename.slice(0, 24);
    for (const [path, p] of [
      [`/events/small/export/${'0'.repeat(24)}`, project],
      ['/events/small/export/not-an-id', project],
      [`/events/purchases/export/${id}`, project],
      [`/events/small/export/${id}`, other],
    ] as const) {
      const res = await t.http.get(path).set(auth(p, 'query'));
      expect(res.status).toBe(404);
      expect(res.body.errorMessage).toMatch(/^No export/);
    }
    const pushKey = await t.http.get(`/events/small/export/${id}`).set(auth(project, 'push'));
    expect(pushKey.status).toBe(403);
    const noKey = await t.http.get(`/events/small/export/${id}`);
    expect(noKey.status).toBe(401);
    const badCollection = await t.http.get(`/events/%0A/export/${id}`).set(auth(project, 'query'));
    expect(badCollection.status).toBe(422);
    expect(badCollection.body.errors[0].field).toBe('collection');
  });

  it('builds Location from a plain Host header only (regression: any Host was echoed)', async () => {
    await pushAll('hosts', [{ n: 1 }]);
    const create = (host: string) =>
      t.http
        .post('/events/hosts/export')
        .set(auth(project, 'query'))
        .set('Host', host)
        .send({ s3Path: `${s3.endpoint}/${BUCKET}/`, ...credentials() });
    const plain = await create('analytics.example.com:8080');
    expect(plain.headers.location).toMatch(/^http:\/\/analytics\.example\.com:8080\/events\/hosts\/export\/[0-9a-f]{24}$/);
    const hostile = await create('evil.example.com/path?x=<script>');
    expect(hostile.headers.location).toMatch(/^http:\/\/localhost\/events\/hosts\/export\/[0-9a-f]{24}$/);
    for (const res of [plain, hostile]) {
      await waitForExport(t.http, pathOf(res.headers.location), auth(project, 'query'));
    }
  });

  it('uses PUBLIC_BASE_URL for the Location header when set', async () => {
    const behindProxy = await startTestApp({ PUBLIC_BASE_URL: 'https://analytics.example.com/', S3_ALLOWED_ENDPOINTS: s3.endpoint });
    try {
      const p = await behindProxy.createProject();
      const res = await behindProxy.http
        .post('/events/my+coll/export')
        .set(auth(p, 'query'))
        .send({ s3Path: `${s3.endpoint}/${BUCKET}/`, ...credentials() });
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`https://analytics.example.com/events/my%20coll/export/${res.body.filename.slice(0, 24)}`);
      await waitForExport(behindProxy.http, pathOf(res.headers.location), auth(p, 'query'));
    } finally {
      await behindProxy.close();
    }
  });
});

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
