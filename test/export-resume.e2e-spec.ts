import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { eventJsonSql } from '../src/events/event-json';
import { ecommerceEvents } from '../scripts/lib/ecommerce-events';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, waitForExport } from './support/exports';
import { expectNoIncompleteUploads, startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';

/** Multipart uploads with checkpoints (docs/exports.md, "Parts and resuming"), manifest and gzip. */
describe('S3 export parts, manifest and gzip', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const BUCKET = 'resume';

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    t = await startTestApp({ S3_ALLOWED_ENDPOINTS: s3.endpoint, EXPORT_PART_SIZE_BYTES: String(5 * 1024 * 1024) });
    project = await t.createProject();
    const events = [...ecommerceEvents(30_000, { seed: 7, end: new Date('2026-11-01T00:00:00Z'), days: 30 })];
    for (let i = 0; i < events.length; i += 5000) {
      const res = await t.http
        .post('/events')
        .set(auth(project, 'push'))
        .send({ purchases: events.slice(i, i + 5000) });
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => {
    await expectNoIncompleteUploads(s3, { timeoutMs: 5000 }); // failed and cancelled exports aborted theirs
    await t.close();
    await s3.close();
  });

  const exportTo = async (body: Record<string, unknown>) => {
    const res = await t.http
      .post('/events/purchases/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/${BUCKET}/out/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey, ...body });
    expect(res.status).toBe(201);
    const { final } = await waitForExport(t.http, pathOf(res.headers.location), auth(project, 'query'), 120_000);
    return { id: res.body.filename.replace(/\.json(\.gz)?$/, '') as string, final, filename: res.body.filename as string };
  };

  it('stores each line length exactly as the exported line renders (the size comes from events.line_bytes)', async () => {
    // Raw JSON text: numbers keep every digit as sent.
    const body = String.raw`{"lengths": [
      {"id": "plain", "a": 1},
      {"id": "empty"},
      {"id": 9007199254740991},
      {"id": "unicode", "name": "Zoë 🚲 東京", "snow": "\u2603"},
      {"id": "escapes", "text": "quote \" backslash \\ newline \n tab \t control \u0001", "nested": {"deep": [1, 2.5, null, true, "x"]}},
      {"id": "exact", "price": 1.10, "big": 98765432109876543210.5}
    ]}`;
    const res = await t.http.post('/events').set(auth(project, 'push')).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
    const rows: Array<{ stored: number; rendered: number }> = await t.app
      .get(DataSource)
      .query(
        `SELECT line_bytes AS stored, octet_length(${eventJsonSql('e')}) AS rendered FROM events e WHERE project_id = $1 AND collection = 'lengths'`,
        [project.projectId],
      );
    expect(res.body.lengths.filter((r: { success: boolean }) => !r.success)).toEqual([]);
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row.stored).toBe(row.rendered);
  });

  it('writes the object in several parts, then a manifest that describes it', async () => {
    const { id, final } = await exportTo({});
    expect(final.error).toBeNull();
    expect(final.status).toBe('Complete');
    const object = await s3.getObject(BUCKET, `out/${id}.json`);
    expect(object.length).toBe(final.totalBytes);
    expect(object.length).toBeGreaterThan(10 * 1024 * 1024); // three parts of 5 MiB at least
    const lines = object.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(30_000);
    const manifest = JSON.parse((await s3.getObject(BUCKET, `out/${id}.manifest.json`)).toString('utf8'));
    expect(manifest).toMatchObject({
      exportId: id,
      collection: 'purchases',
      events: 30_000,
      bytes: object.length,
      sha256: createHash('sha256').update(object).digest('hex'),
      query: { filter: {}, timeframe: { start: null, end: null } },
    });
    expect(manifest.etag).toMatch(/^"[0-9a-f]{32}-[3-9]"$/);
    expect(manifest.files).toEqual([
      expect.objectContaining({ key: `out/${id}.json`, bytes: object.length, events: 30_000, compression: 'none' }),
    ]);
  }, 180_000);

  it('with "compression": "gzip", writes <id>.json.gz that decompresses to the same NDJSON, sized exactly at Complete', async () => {
    const plain = await exportTo({});
    const packed = await exportTo({ compression: 'gzip' });
    expect(packed.filename).toBe(`${packed.id}.json.gz`);
    expect(packed.final).toMatchObject({ status: 'Complete', error: null, percentDone: 100 });
    const object = await s3.getObject(BUCKET, `out/${packed.id}.json.gz`);
    expect(packed.final.totalBytes).toBe(object.length);
    expect(packed.final.transferredBytes).toBe(object.length);
    expect(object.length).toBeLessThan(plain.final.totalBytes / 3);
    expect(gunzipSync(object).equals(await s3.getObject(BUCKET, `out/${plain.id}.json`))).toBe(true);
    const manifest = JSON.parse((await s3.getObject(BUCKET, `out/${packed.id}.manifest.json`)).toString('utf8'));
    expect(manifest).toMatchObject({ bytes: object.length, events: 30_000, sha256: createHash('sha256').update(object).digest('hex') });
    expect(manifest.files[0]).toMatchObject({ key: `out/${packed.id}.json.gz`, compression: 'gzip', contentType: 'application/gzip' });
  }, 180_000);

  it('cancels a Running export: it stops, its upload is closed and its credentials wiped within 5 s', async () => {
    const slow = await startTestApp({
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      EXPORT_PART_SIZE_BYTES: String(5 * 1024 * 1024),
      EXPORT_QUEUE_SIZE: '1',
    });
    try {
      const other = await slow.createProject();
      const events = [...ecommerceEvents(30_000, { seed: 8, end: new Date('2026-11-01T00:00:00Z'), days: 30 })];
      for (let i = 0; i < events.length; i += 5000) {
        await slow.http
          .post('/events')
          .set(auth(other, 'push'))
          .send({ purchases: events.slice(i, i + 5000) })
          .expect(200);
      }
      const res = await slow.http
        .post('/events/purchases/export')
        .set(auth(other, 'query'))
        .send({ s3Path: `${s3.endpoint}/${BUCKET}/cancel/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
      expect(res.status).toBe(201);
      const id = res.body.filename.slice(0, 24);
      const db = slow.app.get(DataSource);
      const row = async () =>
        (await db.query(`SELECT status, upload_id, s3_credentials_encrypted AS c FROM exports WHERE id = $1`, [id]))[0];
      for (let i = 0; i < 3000 && !(await row()).upload_id; i++) await new Promise((r) => setTimeout(r, 5));
      expect((await row()).status).toBe('Running');
      const cancelled = await slow.http.delete(`/events/purchases/export/${id}`).set(auth(other, 'query'));
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ status: 'Failed', error: 'The export was cancelled.', finished: expect.any(String) });
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && ((await row()).upload_id || (await row()).c)) await new Promise((r) => setTimeout(r, 50));
      expect(await row()).toEqual({ status: 'Failed', upload_id: null, c: null });
      expect(await s3.listKeys(BUCKET, `cancel/${id}`)).toEqual([]);
      const monitor = await slow.http.get(`/events/purchases/export/${id}`).set(auth(other, 'query'));
      expect(monitor.body).toMatchObject({ status: 'Failed', error: 'The export was cancelled.' });
    } finally {
      await slow.close();
    }
  }, 120_000);
});
