import { DataSource } from 'typeorm';
import { buildOpenApiDocument } from '../src/app.setup';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, until, waitForExport } from './support/exports';
import { bulkLoad } from './support/bulk-load';
import { expectNoIncompleteUploads, startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';

/**
 * Defects found by attacking S3 exports as a hostile client and an unlucky operator. Each test
 * states what docs/exports.md promises and fails while the service breaks that promise.
 */
const BUCKET = 'attack';
const EVENTS = 60_000;
/** Small parts, one in flight, so the export's COPY stays open while parts are acknowledged one by one. */
const PIPELINE = { EXPORT_PART_SIZE_BYTES: String(5 * 1024 * 1024), EXPORT_QUEUE_SIZE: '1' };

describe('S3 export attacks', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  let db: DataSource;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    t = await startTestApp({
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      // The API's statement timeout, and with it the pool's client-side read timeout (+2 s): 3 s.
      QUERY_STATEMENT_TIMEOUT_MS: '1000',
      EXPORT_RETRY_BASE_DELAY_MS: '200',
      EXPORT_RETRY_MAX_DELAY_MS: '500',
      ...PIPELINE,
    });
    db = t.app.get(DataSource);
    project = await t.createProject('attack');
    await bulkLoad(
      t.config.database.url,
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
       SELECT $1, 'big', to_jsonb('ev-' || g), timestamp '2026-11-01' + g * interval '1 second',
              jsonb_build_object('n', g, 'product', 'prod-' || (g % 97), 'customer', jsonb_build_object('name', md5(g::text), 'tier', g % 5),
                                 'note', repeat('x', 200))
         FROM generate_series(1, $2::int) g`,
      [project.projectId, EVENTS],
    );
  }, 120_000);
  afterAll(async () => {
    await t.close();
    await s3.close();
  });
  afterEach(async () => {
    s3.clearFaults();
    await expectNoIncompleteUploads(s3, { timeoutMs: 10_000 });
  });

  const start = async () => {
    const res = await t.http
      .post('/events/big/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/${BUCKET}/out/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    return { id: res.body.filename.slice(0, 24) as string, monitor: pathOf(res.headers.location) };
  };
  const attempts = async (id: string): Promise<number> => (await db.query(`SELECT attempts FROM exports WHERE id = $1`, [id]))[0].attempts;

  // docs/exports.md, "Settings" / docs/limits.md: the worker's reads are bounded by
  // EXPORT_STATEMENT_TIMEOUT_MS (10 min), not by the API's QUERY_STATEMENT_TIMEOUT_MS. The COPY is
  // sent on the app pool's connection without its own query_timeout, so pg's pool-wide read timeout
  // (QUERY_STATEMENT_TIMEOUT_MS + 2 s, 12 s by default) cuts every COPY that stays open longer, and
  // the export burns one attempt per 12 s of reading (EXPORT_MAX_ATTEMPTS of them in all).
  it('a COPY open longer than QUERY_STATEMENT_TIMEOUT_MS + 2 s is not cut: one attempt, Complete', async () => {
    // Each part takes 1.5 s to be acknowledged: the COPY of ~5 parts stays open well past 3 s.
    s3.injectFaults([{ operation: 'UploadPart', fault: { delayMs: 1500 } }]);
    const { id, monitor } = await start();
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 120_000);
    expect(final.status).toBe('Complete');
    expect(await attempts(id)).toBe(1);
  }, 150_000);

  // docs/exports.md, "Cancelling": a Running export's upload is aborted, "so S3 discards its parts;
  // no object is written"; "The manifest": a consumer that finds it "knows the export is whole".
  // A DELETE that lands after S3 completed the upload but before the worker recorded Complete
  // (here: while the manifest is being written) answers 200 (Failed, cancelled), yet the object
  // stays in the bucket: the runner only notes "cancelled after its object was complete".
  it('a cancel answered 200 after S3 completed the upload leaves no object behind (else it is 409 and Complete)', async () => {
    s3.resetCounters();
    const { id, monitor } = await start();
    s3.injectFaults([{ operation: 'PutObject', key: `out/${id}.manifest.json`, fault: { delayMs: 3000 } }]);
    await until('the manifest PUT sent', async () =>
      s3.requestLog().some((r) => r.operation === 'PutObject' && r.key === `out/${id}.manifest.json`),
    );
    expect(s3.requestLog().find((r) => r.operation === 'CompleteMultipartUpload')?.status).toBe(200);
    const cancel = await t.http.delete(`/events/big/export/${id}`).set(auth(project, 'query'));
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 60_000);
    await new Promise((r) => setTimeout(r, 5000)); // the worker finishes what it was doing
    const keys = await s3.listKeys(BUCKET, `out/${id}`);
    if (cancel.status === 200) {
      expect(final).toMatchObject({ status: 'Failed', error: 'The export was cancelled.' });
      expect(keys).toEqual([]);
    } else {
      // Too late to cancel: 409, and the export is Complete with its object and manifest.
      expect(cancel.status).toBe(409);
      expect(final.status).toBe('Complete');
      expect(keys).toEqual([`out/${id}.json`, `out/${id}.manifest.json`]);
    }
  }, 120_000);
  // Every status an endpoint answers is in Swagger and openapi.json (docs/limits.md: body nesting → 400).
  // POST /events/:collection/export answers 400 for a body that is not
  // JSON or nests past 100 levels, but its documented statuses have no 400 (POST /events has it).
  it('POST /events/:collection/export documents the 400 it answers for a malformed or too deep body', async () => {
    const bad = await t.http
      .post('/events/big/export')
      .set(auth(project, 'query'))
      .set('Content-Type', 'application/json')
      .send('{bad json');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ errorMessage: expect.stringMatching(/not valid JSON/) });
    const deep = await t.http
      .post('/events/big/export')
      .set(auth(project, 'query'))
      .set('Content-Type', 'application/json')
      .send(`{"query": ${'['.repeat(150)}${']'.repeat(150)}}`);
    expect(deep.status).toBe(400);
    const doc = buildOpenApiDocument(t.app) as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths['/events/{collection}/export'].post.responses)).toContain('400');
  });
  // docs/api.md, "S3 exports": "prefixes with `.`/`..` segments (even encoded) → 422 on s3Path, so the
  // service cannot be aimed at internal addresses or outside the named bucket". WHATWG URL parsing
  // resolves `..`, `%2e%2e`, `.%2e` and `%2e` segments before the prefix is checked, so a path-style
  // s3Path naming one bucket is answered 201 and the export is written into another bucket.
  it.each([
    ['a literal ..', '/attack/../elsewhere/x/'],
    ['an encoded %2e%2e', '/attack/%2e%2e/elsewhere/x/'],
    ['an upper-case %2E%2E', '/attack/%2E%2E/elsewhere/x/'],
    ['a mixed .%2e', '/attack/.%2e/elsewhere/x/'],
    ['an encoded %2e', '/attack/%2e/x/'],
  ])('an s3Path with %s segment is refused with 422 on s3Path, and nothing is created', async (_what, path) => {
    const before = Number((await db.query(`SELECT count(*) AS n FROM exports`))[0].n);
    const res = await t.http
      .post('/events/big/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}${path}`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('s3Path');
    expect(Number((await db.query(`SELECT count(*) AS n FROM exports`))[0].n)).toBe(before);
  });
});
