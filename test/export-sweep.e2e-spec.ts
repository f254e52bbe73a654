import { CreateMultipartUploadCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { DataSource } from 'typeorm';
import { pathOf, until, waitForExport } from './support/exports';
import { expectNoIncompleteUploads, startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp, testKeyPrefix } from './support/test-app';

/**
 * Several workers sweep the same queue every 100 ms while an export runs: the export still runs
 * once (its job id is the export id, and active jobs are left alone). And the sweep aborts the
 * multipart upload an ended export still has recorded (docs/exports.md, "No orphaned uploads").
 */
describe('the export sweep with several workers', () => {
  let s3: TestS3Server;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['sweep'] });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await s3.close();
  });

  it('runs an export exactly once', async () => {
    const env = { QUEUE_PREFIX: testKeyPrefix('sweep'), EXPORT_SWEEP_INTERVAL_MS: '100', S3_ALLOWED_ENDPOINTS: s3.endpoint };
    apps.push(await startTestApp(env), await startTestApp(env), await startTestApp(env));
    const [first] = apps;
    const project = await first.createProject();
    await first.app.get(DataSource).query(
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
       SELECT $1, 'many', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second', jsonb_build_object('n', n, 'pad', repeat('p', 200))
         FROM generate_series(1, 50000) AS n`,
      [project.projectId],
    );
    const res = await first.http
      .post('/events/many/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/sweep/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    const { final, readings } = await waitForExport(first.http, pathOf(res.headers.location), auth(project, 'query'), 60_000);
    expect(final.status).toBe('Complete');
    expect(readings.filter((r) => r.status === 'Running').length).toBeGreaterThan(1); // it ran across several sweeps
    const [row] = await first.app
      .get(DataSource)
      .query('SELECT attempts FROM exports WHERE id = $1', [final.filename.replace(/\.json$/, '')]);
    expect(row.attempts).toBe(1);
    const lines = (await s3.getObject('sweep', final.filename)).toString().split('\n').filter(Boolean);
    expect(lines).toHaveLength(50_000);
  }, 90_000);

  it('aborts the multipart upload still recorded for an export that ended without its worker aborting it', async () => {
    // The worker (its sweep every 300 ms) runs first: what it finds later is the periodic sweep's work, not the start-up one's.
    const prefix = testKeyPrefix('sweep-abort');
    const worker = await startTestApp({ QUEUE_PREFIX: prefix, EXPORT_SWEEP_INTERVAL_MS: '300', S3_ALLOWED_ENDPOINTS: s3.endpoint });
    apps.push(worker);
    // Created through an API of another queue, so no worker runs it; then made what a worker that died between
    // marking its export Failed and aborting the upload leaves behind: Failed, the upload recorded, the credentials kept.
    const api = await startTestApp({ ROLE: 'api', S3_ALLOWED_ENDPOINTS: s3.endpoint });
    apps.push(api);
    const project = await api.createProject();
    await api.http.post('/events/ended').set(auth(project, 'push')).send({ n: 1 }).expect(200);
    const res = await api.http
      .post('/events/ended/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/sweep/ended/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    const id = (res.body.filename as string).replace(/\.json$/, '');
    const key = `ended/${id}.json`;
    const client = new S3Client(s3.clientConfig());
    let uploadId: string;
    try {
      uploadId = (await client.send(new CreateMultipartUploadCommand({ Bucket: 'sweep', Key: key }))).UploadId!;
      await client.send(new UploadPartCommand({ Bucket: 'sweep', Key: key, UploadId: uploadId, PartNumber: 1, Body: '{"id": 1}\n' }));
    } finally {
      client.destroy();
    }
    const db = worker.app.get(DataSource);
    await db.query(
      `UPDATE exports SET status = 'Failed', started_at = now(), finished_at = now(), error = 'gone', upload_id = $2, queue_prefix = $3
        WHERE id = $1`,
      [id, uploadId, prefix],
    );
    expect(await s3.incompleteUploads('sweep')).toEqual([expect.objectContaining({ key, uploadId, parts: 1 })]);

    await expectNoIncompleteUploads(s3, { bucket: 'sweep', timeoutMs: 5000 });
    expect(s3.requestLog().filter((r) => r.operation === 'AbortMultipartUpload' && r.uploadId === uploadId)).toEqual([
      expect.objectContaining({ status: 204 }),
    ]);
    // S3 answers the abort before the worker forgets the upload and wipes the credentials.
    const row = await until(
      'the upload forgotten',
      async () => {
        const [r] = await db.query('SELECT status, error, upload_id, s3_credentials_encrypted FROM exports WHERE id = $1', [id]);
        return r.upload_id === null && r;
      },
      5_000,
    );
    expect(row).toEqual({ status: 'Failed', error: 'gone', upload_id: null, s3_credentials_encrypted: null });
  }, 60_000);
});
