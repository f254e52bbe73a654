import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, until } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';

/** The import monitor document (Connect docs, "Importing events"). */
interface ImportStatus {
  collection: string;
  status: 'Pending' | 'Running' | 'Complete' | 'Failed';
  created: string;
  started: string | null;
  finished: string | null;
  importedEvents: number;
  duplicateEvents: number;
  percentComplete: number;
  insertRate: string;
  error: string | null;
  eventErrors: Array<{ index: number; error: string }>;
}

describe('bulk import POST /event-import, GET /event-import/:id (Connect docs, "Importing events")', () => {
  let s3: TestS3Server;
  let client: S3Client;
  let t: TestApp;
  let project: CreatedProject;
  let other: CreatedProject;
  let db: DataSource;
  const BUCKET = 'imports';

  beforeAll(async () => {
    s3 = await startS3Server({
      buckets: [BUCKET],
      accessKeyId: 'AKIAIMPORTTEST4K8M2P',
      secretAccessKey: 'import-test-secret-9d3b7f1e5a2c4d6e8f0a',
    });
    client = new S3Client(s3.clientConfig());
    t = await startTestApp({
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      IMPORT_BATCH_LINES: '100',
      EXPORT_MAX_ATTEMPTS: '2',
      EXPORT_RETRY_BASE_DELAY_MS: '50',
    });
    project = await t.createProject();
    other = await t.createProject('other');
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    client.destroy();
    await t.close();
    await s3.close();
  });

  const put = (key: string, body: Buffer | string) =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(body) }));
  const credentials = () => ({ s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
  const start = (body: Record<string, unknown>, p: CreatedProject = project, key: keyof CreatedProject['keys'] = 'push') =>
    t.http.post('/event-import').set(auth(p, key)).send(body);
  const waitFor = async (location: string, p: CreatedProject = project): Promise<{ final: ImportStatus; readings: ImportStatus[] }> => {
    const readings: ImportStatus[] = [];
    const final = await until('the import to finish', async () => {
      const res = await t.http.get(pathOf(location)).set(auth(p, 'push'));
      expect(res.status).toBe(200);
      const doc = res.body as ImportStatus;
      const previous = readings.at(-1);
      if (previous) expect(doc.percentComplete).toBeGreaterThanOrEqual(previous.percentComplete);
      readings.push(doc);
      return doc.status === 'Complete' || doc.status === 'Failed' ? doc : null;
    });
    return { final, readings };
  };
  const run = async (collection: string, key: string, p: CreatedProject = project) => {
    const res = await start({ collection, s3Path: `${s3.endpoint}/${BUCKET}/${key}`, ...credentials() }, p);
    expect(res.status).toBe(201);
    return { created: res, ...(await waitFor(res.headers.location, p)) };
  };
  const stored = async (collection: string, p: CreatedProject = project) =>
    db.query<Array<{ id: unknown; properties: Record<string, unknown> }>>(
      `SELECT event_id AS id, properties FROM events WHERE project_id = $1 AND collection = $2 ORDER BY id`,
      [p.projectId, collection],
    );

  it('imports an NDJSON object line for line, answering 201 with Location and the eleven-field monitor document', async () => {
    const lines = Array.from({ length: 250 }, (_, i) =>
      JSON.stringify({ id: `p-${i}`, product: `rose ${i}`, quantity: i, timestamp: '2026-01-02T03:04:05.678Z' }),
    );
    await put('purchases.json', `${lines.join('\n')}\n`);
    const { created, final } = await run('purchases', 'purchases.json');

    const id = created.headers.location.split('/').pop();
    expect(created.headers.location).toBe(`${t.baseUrl}/event-import/${id}`);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(created.body).toEqual({
      collection: 'purchases',
      status: 'Pending',
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      started: null,
      finished: null,
      importedEvents: 0,
      duplicateEvents: 0,
      percentComplete: 0,
      insertRate: '0/s',
      error: null,
      eventErrors: [],
    });
    expect(final).toEqual({
      collection: 'purchases',
      status: 'Complete',
      created: created.body.created,
      started: expect.any(String),
      finished: expect.any(String),
      importedEvents: 250,
      duplicateEvents: 0,
      percentComplete: 100,
      insertRate: expect.stringMatching(/^\d+\/s$/),
      error: null,
      eventErrors: [],
    });
    const rows = await stored('purchases');
    expect(rows).toHaveLength(250);
    expect(rows.find((r) => r.id === 'p-7')?.properties).toEqual({ product: 'rose 7', quantity: 7 });
    // The credentials are wiped at the end.
    const [record] = await db.query('SELECT s3_credentials_encrypted FROM event_imports WHERE id = $1', [id]);
    expect(record.s3_credentials_encrypted).toBeNull();
  });

  it('lists broken lines in eventErrors (index from 0, empty lines counted but skipped) and goes on', async () => {
    const body = [
      '{"n": 0}',
      '{"n": 1',
      '',
      '{"tp_secret": 1}',
      '"a string"',
      '   ',
      `{"big": "${'x'.repeat(70_000)}"}`,
      '{"n": 7, "id": "same"}',
      '{"n": 8, "id": "same"}',
      '{"n": 9}',
    ].join('\r\n');
    await put('broken.json', body);
    const { final } = await run('broken', 'broken.json');
    expect(final.status).toBe('Complete');
    expect(final.eventErrors).toEqual([
      { index: 1, error: 'The JSON specified was not valid.' },
      { index: 3, error: 'Property names starting with tp_ are reserved and cannot be set.' },
      { index: 4, error: 'An event must be a JSON object.' },
      { index: 6, error: 'Maximum event size of 64kb exceeded.' },
    ]);
    expect([final.importedEvents, final.duplicateEvents]).toEqual([3, 1]);
    expect((await stored('broken')).map((r) => r.properties.n).sort()).toEqual([0, 7, 9]);
  });

  it('keeps only the first 1,000 eventErrors and counts every stored event exactly', async () => {
    const lines = Array.from({ length: 1800 }, (_, i) => (i % 3 === 0 ? `{"ok": ${i}}` : `not json ${i}`));
    await put('many-errors.json', lines.join('\n'));
    const { final } = await run('many', 'many-errors.json');
    expect(final.status).toBe('Complete');
    expect(final.importedEvents).toBe(600);
    expect(final.eventErrors).toHaveLength(1000);
    expect(final.eventErrors[999]).toEqual({ index: 1499, error: 'The JSON specified was not valid.' });
    expect(Object.keys(final).sort()).toEqual([
      'collection',
      'created',
      'duplicateEvents',
      'error',
      'eventErrors',
      'finished',
      'importedEvents',
      'insertRate',
      'percentComplete',
      'started',
      'status',
    ]);
  });

  it('fails an object holding one JSON array, with a clear error, storing nothing', async () => {
    await put('array.json', JSON.stringify([{ a: 1 }, { a: 2 }], null, 2));
    const { final } = await run('array', 'array.json');
    expect(final.status).toBe('Failed');
    expect(final.error).toMatch(/JSON array; an import reads NDJSON: one JSON event per line/);
    expect(final.importedEvents).toBe(0);
    expect(await stored('array')).toEqual([]);
  });

  it('reads gzip-compressed objects (by their magic bytes, whatever the name), several members too', async () => {
    const part = (from: number) => Array.from({ length: 150 }, (_, i) => JSON.stringify({ n: from + i })).join('\n') + '\n';
    await put('events.ndjson', Buffer.concat([gzipSync(part(0)), gzipSync(part(150))]));
    const { final } = await run('gzipped', 'events.ndjson');
    expect([final.status, final.importedEvents, final.percentComplete]).toEqual(['Complete', 300, 100]);
    expect((await stored('gzipped')).map((r) => r.properties.n).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
  });

  it('counts duplicates within the file and against stored events; the first copy wins', async () => {
    const push = await t.http.post('/events/dups').set(auth(project, 'push')).send({ id: 'a', from: 'push' });
    expect(push.status).toBe(200);
    await put(
      'dups.json',
      ['{"id": "a", "from": "file"}', '{"id": "b", "from": "file"}', '{"id": "b", "from": "file again"}', '{"id": 1}', '{"id": "1"}'].join(
        '\n',
      ),
    );
    const { final } = await run('dups', 'dups.json');
    expect([final.status, final.importedEvents, final.duplicateEvents]).toEqual(['Complete', 3, 2]);
    const rows = (await stored('dups')).map((r) => [JSON.stringify(r.id), r.properties.from ?? null]);
    expect(rows.sort()).toEqual([
      ['"1"', null],
      ['"a"', 'push'],
      ['"b"', 'file'],
      ['1', null],
    ]);
  });

  it('imports an empty object as Complete with nothing stored', async () => {
    await put('empty.json', '');
    const { final } = await run('empty', 'empty.json');
    expect([final.status, final.importedEvents, final.percentComplete, final.error]).toEqual(['Complete', 0, 100, null]);
  });

  it('fails with clear, secret-free errors: wrong credentials, a missing object, a zip object', async () => {
    await put('real.json', '{"a": 1}\n');
    const wrong = await start({
      collection: 'x',
      s3Path: `${s3.endpoint}/${BUCKET}/real.json`,
      s3AccessKeyId: s3.accessKeyId,
      s3SecretAccessKey: 'wrong-secret-0123456789',
    });
    expect(wrong.status).toBe(201);
    const denied = (await waitFor(wrong.headers.location)).final;
    expect(denied.status).toBe('Failed');
    expect(denied.error).toMatch(
      /^S3 refused to read s3:\/\/imports\/real\.json at http:\/\/127\.0\.0\.1:\d+: .*Check s3AccessKeyId, s3SecretAccessKey and the bucket policy\.$/,
    );
    expect(denied.error).not.toContain('wrong-secret-0123456789');

    const missing = (await run('x', 'nope.json')).final;
    expect([missing.status, missing.error]).toEqual([
      'Failed',
      expect.stringMatching(/^S3 has no object s3:\/\/imports\/nope\.json .*Check the bucket and the object key in s3Path\.$/),
    ]);

    await put('zipped.json', Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]));
    const zip = (await run('x', 'zipped.json')).final;
    expect([zip.status, zip.error]).toEqual([
      'Failed',
      expect.stringMatching(/is zip-compressed; imports read NDJSON, plain or gzip-compressed\.$/),
    ]);
    expect(await stored('x')).toEqual([]);
  });

  it('answers 422 for a folder or bucket path, a host not allowed, a bad collection or missing credentials, before storing anything', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ collection: 'c', s3Path: `${s3.endpoint}/${BUCKET}/folder/`, ...credentials() }, 's3Path'],
      [{ collection: 'c', s3Path: 's3://bucket', ...credentials() }, 's3Path'],
      [{ collection: 'c', s3Path: 'http://169.254.169.254/latest/meta-data', ...credentials() }, 's3Path'],
      [{ collection: 'a/b', s3Path: 's3://bucket/key.json', ...credentials() }, 'collection'],
      [{ collection: 'c', s3Path: 's3://bucket/key.json', s3AccessKeyId: 'AKIA' }, 's3SecretAccessKey'],
    ];
    const before = (await db.query('SELECT count(*)::int AS n FROM event_imports'))[0].n;
    for (const [body, field] of cases) {
      const res = await start(body);
      expect([res.status, res.body.errors?.map((e: { field: string }) => e.field)]).toEqual([422, [field]]);
    }
    expect((await db.query('SELECT count(*)::int AS n FROM event_imports'))[0].n).toBe(before);
  });

  it('answers 400 for a body that is not JSON and 413 for one over 256 KB, in Connect shapes', async () => {
    const bad = await t.http
      .post('/event-import')
      .set(auth(project, 'push'))
      .set('Content-Type', 'application/json')
      .send('{"collection": ');
    expect([bad.status, bad.body.errorMessage]).toEqual([400, expect.stringMatching(/not valid JSON/)]);
    const big = await t.http
      .post('/event-import')
      .set(auth(project, 'push'))
      .send({ collection: 'c', pad: 'x'.repeat(300 * 1024) });
    expect([big.status, typeof big.body.errorMessage]).toEqual([413, 'string']);
  });

  it('needs a key that can push (a query key → 403), and keeps imports per project (404 for another project)', async () => {
    await put('small.json', '{"a": 1}\n');
    const refused = await start({ collection: 'c', s3Path: `${s3.endpoint}/${BUCKET}/small.json`, ...credentials() }, project, 'query');
    expect(refused.status).toBe(403);
    const { created } = await run('c', 'small.json');
    const path = pathOf(created.headers.location);
    expect((await t.http.get(path).set(auth(other, 'push'))).status).toBe(404);
    expect((await t.http.delete(path).set(auth(other, 'push'))).status).toBe(404);
    expect((await t.http.get('/event-import/not-an-id').set(auth(project, 'push'))).status).toBe(404);
    expect((await t.http.get(path).set(auth(project, 'master'))).body.status).toBe('Complete');
    // A finished import cannot be cancelled.
    const conflict = await t.http.delete(path).set(auth(project, 'push'));
    expect([conflict.status, conflict.body.errorMessage]).toEqual([409, expect.stringMatching(/has already finished/)]);
  });

  it('cancels a running import: Failed, "The import was cancelled.", nothing committed after the cancel', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ n: i, pad: 'y'.repeat(200) }));
    await put('long.json', lines.join('\n'));
    const res = await start({ collection: 'cancelled', s3Path: `${s3.endpoint}/${BUCKET}/long.json`, ...credentials() });
    const path = pathOf(res.headers.location);
    await until(
      'the import to store its first batch',
      async () => (await t.http.get(path).set(auth(project, 'push'))).body.importedEvents > 0 || null,
    );
    const cancel = await t.http.delete(path).set(auth(project, 'push'));
    expect(cancel.status).toBe(200);
    expect([cancel.body.status, cancel.body.error, cancel.body.finished]).toEqual([
      'Failed',
      'The import was cancelled.',
      expect.any(String),
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await t.http.get(path).set(auth(project, 'push'))).body as ImportStatus;
    expect(after.status).toBe('Failed');
    // What the monitor counts is exactly what is stored, and nothing more arrives.
    expect((await stored('cancelled')).length).toBe(after.importedEvents);
    expect(after.importedEvents).toBeLessThan(20_000);
  });

  it('retries a transient S3 failure from the committed position: Complete after 2 attempts, every line once', async () => {
    await put('flaky.json', Array.from({ length: 300 }, (_, i) => JSON.stringify({ n: i })).join('\n'));
    s3.resetCounters();
    s3.injectFaults([{ operation: 'GetObject', key: 'flaky.json', times: 3, fault: { status: 500, code: 'InternalError' } }]);
    try {
      const { created, final } = await run('flaky', 'flaky.json');
      expect([final.status, final.importedEvents, final.duplicateEvents, final.error]).toEqual(['Complete', 300, 0, null]);
      // The SDK tries each request 3 times; the 3 failures fail the attempt, and the job's retry completes it.
      expect(s3.faultsInjected()).toBe(3);
      const [record] = await db.query('SELECT attempts FROM event_imports WHERE id = $1', [created.headers.location.split('/').pop()]);
      expect(record.attempts).toBe(2);
      expect(await stored('flaky')).toHaveLength(300);
    } finally {
      s3.clearFaults();
    }
  });

  it('fails an import whose object is replaced while it runs (If-Match on every read), instead of mixing two files', async () => {
    await put('replaced.json', Array.from({ length: 300 }, (_, i) => JSON.stringify({ n: i })).join('\n'));
    // The second GetObject (the stream, after the first bytes were sniffed) waits 1 s: the object is replaced meanwhile.
    s3.resetCounters();
    s3.injectFaults([{ operation: 'GetObject', key: 'replaced.json', every: 2, times: 1, fault: { delayMs: 1000 } }]);
    try {
      const res = await start({ collection: 'replaced', s3Path: `${s3.endpoint}/${BUCKET}/replaced.json`, ...credentials() });
      await until('the delayed read', async () => s3.faultsInjected() === 1 || null);
      await put('replaced.json', '{"other": "file"}\n');
      const { final } = await waitFor(res.headers.location);
      expect([final.status, final.error]).toEqual(['Failed', expect.stringMatching(/changed while it was imported/)]);
      expect(await stored('replaced')).toEqual([]);
    } finally {
      s3.clearFaults();
    }
  });
});

describe('unfinished imports per project (IMPORT_MAX_PENDING_PER_PROJECT)', () => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it('answers 429 with Retry-After: 30 past the cap, and counts only that project', async () => {
    // No worker in this process: the imports stay Pending.
    t = await startTestApp({ ROLE: 'api', IMPORT_MAX_PENDING_PER_PROJECT: '2', S3_ALLOWED_ENDPOINTS: 'http://127.0.0.1:9' });
    const [a, b] = [await t.createProject('a'), await t.createProject('b')];
    const body = {
      collection: 'c',
      s3Path: 'http://127.0.0.1:9/bucket/file.json',
      s3AccessKeyId: 'AKIAEXAMPLE',
      s3SecretAccessKey: 'secret-secret',
    };
    const post = (p: CreatedProject) => t.http.post('/event-import').set(auth(p, 'push')).send(body);
    expect([(await post(a)).status, (await post(a)).status]).toEqual([201, 201]);
    const refused = await post(a);
    expect([refused.status, refused.headers['retry-after'], refused.body.errorMessage]).toEqual([
      429,
      '30',
      expect.stringMatching(/already has 2 unfinished imports/),
    ]);
    expect((await post(b)).status).toBe(201);
  });
});
