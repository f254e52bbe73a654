import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import request from 'supertest';
import { EXPORT_QUEUE } from '../src/exports/exports.constants';
import { IMPORT_QUEUE } from '../src/imports/imports.constants';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, until, waitForExport } from './support/exports';
import { freePort } from './support/ports';
import { parseMetrics, PromSample, sampleValue } from './support/prometheus';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TestApp } from './support/test-app';

/** Prometheus metrics at GET /metrics (docs/monitoring.md). */
describe('GET /metrics', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const BUCKET = 'metrics';

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    t = await startTestApp({ S3_ALLOWED_ENDPOINTS: s3.endpoint, RATE_LIMIT_ENABLED: 'false' });
    project = await t.createProject();
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  const scrape = async (app: TestApp = t): Promise<PromSample[]> => {
    const res = await app.http.get('/metrics').set('X-Admin-Token', TEST_ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(res.text);
  };

  it('answers 401 without the admin token or with a wrong one, as the other admin endpoints do', async () => {
    for (const headers of [{}, { 'X-Admin-Token': 'wrong-token-of-some-length' }]) {
      const res = await t.http.get('/metrics').set(headers);
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: { errorMessage: 'Missing or wrong X-Admin-Token.' } });
      expect(res.text).not.toContain('http_request_duration_seconds');
    }
  });

  it('answers 403 when ADMIN_TOKEN is unset, as the other admin endpoints do', async () => {
    const off = await startTestApp({ ADMIN_TOKEN: '', ROLE: 'api' });
    try {
      const res = await off.http.get('/metrics').set('X-Admin-Token', TEST_ADMIN_TOKEN);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 403,
        body: { errorMessage: 'Admin endpoints are disabled. Set ADMIN_TOKEN to enable them.' },
      });
    } finally {
      await off.close();
    }
  });

  it('counts pushes, queries, an S3 export and an S3 import with their real values', async () => {
    const before = await scrape();
    expect(sampleValue(before, 'events_pushed_total', { outcome: 'accepted' })).toBe(0);
    expect(sampleValue(before, 'exports_finished_total', { status: 'complete' })).toBe(0);

    // One push: 3 stored, 1 repeated id (de-duplicated), 2 invalid (a reserved property, a non-object).
    const batch = await t.http
      .post('/events')
      .set(auth(project, 'push'))
      .send({
        sales: [{ id: 'a', price: 1 }, { id: 'b', price: 2 }, { id: 'a', price: 1 }, { tp_reserved: 1 }, 'not an event'],
        refunds: [{ id: 'r', price: -1 }],
      });
    expect(batch.status).toBe(200);
    expect(batch.body.sales.map((r: { success: boolean }) => r.success)).toEqual([true, true, true, false, false]);
    // A single push of an id already stored, and one that is refused (400).
    expect((await t.http.post('/events/sales').set(auth(project, 'push')).send({ id: 'b', price: 2 })).status).toBe(200);
    expect((await t.http.post('/events/sales').set(auth(project, 'push')).send({ tp_x: 1 })).status).toBe(400);

    // Queries: two counts, one sum, one with two aggregations; an invalid one (422) is not counted.
    const query = (doc: unknown) =>
      t.http
        .get('/events/sales')
        .query({ query: JSON.stringify(doc) })
        .set(auth(project, 'query'));
    for (const doc of [{ select: { n: 'count' } }, { select: { n: 'count' } }, { select: { total: { sum: 'price' } } }]) {
      expect((await query(doc)).status).toBe(200);
    }
    const multi = await query({ select: { n: 'count', top: { max: 'price' } } });
    expect(multi.body.results).toEqual([expect.objectContaining({ n: 2, top: 2 })]);
    expect((await query({ select: { n: 'median' } })).status).toBe(422);

    // A small S3 export of the 2 stored sales, run by this process's worker.
    const created = await t.http
      .post('/events/sales/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/${BUCKET}/out/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(created.status).toBe(201);
    const { final } = await waitForExport(t.http, pathOf(created.headers.location), auth(project, 'query'));
    expect(final.status).toBe('Complete');
    expect(final.totalBytes).toBeGreaterThan(0);

    // A small S3 import of 4 lines.
    const ndjson = ['{"id": 1}', '{"id": 2}', '{"id": 3}', '{"id": 4}'].join('\n') + '\n';
    const client = new S3Client(s3.clientConfig());
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in.json', Body: Buffer.from(ndjson) }));
    client.destroy();
    const imported = await t.http
      .post('/event-import')
      .set(auth(project, 'push'))
      .send({
        collection: 'imported',
        s3Path: `${s3.endpoint}/${BUCKET}/in.json`,
        s3AccessKeyId: s3.accessKeyId,
        s3SecretAccessKey: s3.secretAccessKey,
      });
    expect(imported.status).toBe(201);
    const importDoc = await until('the import to finish', async () => {
      const doc = (await t.http.get(pathOf(imported.headers.location)).set(auth(project, 'push'))).body;
      return doc.status === 'Complete' || doc.status === 'Failed' ? doc : null;
    });
    expect(importDoc.status).toBe('Complete');

    const after = await scrape();
    expect(sampleValue(after, 'events_pushed_total', { outcome: 'accepted' })).toBe(3);
    expect(sampleValue(after, 'events_pushed_total', { outcome: 'duplicate' })).toBe(2);
    expect(sampleValue(after, 'events_pushed_total', { outcome: 'rejected' })).toBe(3);
    expect(sampleValue(after, 'queries_total', { kind: 'count' })).toBe(2);
    expect(sampleValue(after, 'queries_total', { kind: 'sum' })).toBe(1);
    expect(sampleValue(after, 'queries_total', { kind: 'multi' })).toBe(1);
    expect(sampleValue(after, 'queries_total', { kind: 'avg' })).toBeUndefined();

    expect(sampleValue(after, 'exports_finished_total', { status: 'complete' })).toBe(1);
    expect(sampleValue(after, 'exports_finished_total', { status: 'failed' })).toBe(0);
    expect(sampleValue(after, 'export_duration_seconds_count', { status: 'complete' })).toBe(1);
    const exportSeconds = sampleValue(after, 'export_duration_seconds_sum', { status: 'complete' })!;
    expect(exportSeconds).toBeGreaterThan(0);
    expect(exportSeconds).toBeLessThan(60);
    expect(sampleValue(after, 'export_bytes_total')).toBe(final.totalBytes);
    expect(sampleValue(after, 'imports_finished_total', { status: 'complete' })).toBe(1);
    expect(sampleValue(after, 'import_duration_seconds_count', { status: 'complete' })).toBe(1);
    expect(sampleValue(after, 'import_bytes_total')).toBe(Buffer.byteLength(ndjson));

    // Request durations by route pattern: 6 query requests (one 422) and the batch push.
    const requests = (method: string, route: string, status: string) =>
      sampleValue(after, 'http_request_duration_seconds_count', { method, route, status });
    expect(requests('GET', '/events/:collection', '200')).toBe(4);
    expect(requests('GET', '/events/:collection', '422')).toBe(1);
    expect(requests('POST', '/events', '200')).toBe(1);
    expect(requests('POST', '/events/:collection', '400')).toBe(1);
    expect(requests('POST', '/events/:collection/export', '201')).toBe(1);
    expect(requests('GET', '/metrics', '200')).toBe(1); // the first scrape; this one ends after it is rendered

    // Queue gauges (read from Redis now: both queues are empty again) and pool gauges.
    for (const queue of ['exports', 'imports']) {
      expect(sampleValue(after, 'bull_queue_up', { queue })).toBe(1);
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        expect(sampleValue(after, 'bull_queue_jobs', { queue, state })).toBe(0);
      }
    }
    expect(sampleValue(after, 'pg_pool_connections', { pool: 'main' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'pg_pool_waiting_clients', { pool: 'main' })).toBe(0);
    expect(sampleValue(after, 'pg_pool_connections', { pool: 'export_stream' })).toBeGreaterThanOrEqual(0);
    // Default process metrics.
    expect(sampleValue(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleValue(after, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('shows jobs waiting in a queue', async () => {
    const queue = t.app.get<Queue>(getQueueToken(IMPORT_QUEUE));
    await queue.pause(true); // this process's worker takes nothing meanwhile
    try {
      await queue.add('not-a-real-job', {}, { jobId: 'metrics-waiting-1' });
      await queue.add('not-a-real-job', {}, { jobId: 'metrics-delayed-1', delay: 60_000 });
      const samples = await scrape();
      expect(sampleValue(samples, 'bull_queue_jobs', { queue: 'imports', state: 'waiting' })).toBe(1);
      expect(sampleValue(samples, 'bull_queue_jobs', { queue: 'imports', state: 'delayed' })).toBe(1);
      expect(sampleValue(samples, 'bull_queue_jobs', { queue: 'exports', state: 'waiting' })).toBe(0);
    } finally {
      await queue.empty();
      await (await queue.getJob('metrics-delayed-1'))?.remove();
      await queue.resume(true);
    }
  });

  it('answers within the Redis timeout when Redis does not answer, with bull_queue_up 0', async () => {
    const down = await startTestApp({ ROLE: 'api', REDIS_URL: 'redis://127.0.0.1:1', REDIS_COMMAND_TIMEOUT_MS: '300' });
    try {
      const startedAt = Date.now();
      const samples = await scrape(down);
      expect(Date.now() - startedAt).toBeLessThan(2000);
      expect(sampleValue(samples, 'bull_queue_up', { queue: 'exports' })).toBe(0);
      expect(sampleValue(samples, 'bull_queue_up', { queue: 'imports' })).toBe(0);
      expect(samples.filter((s) => s.name === 'bull_queue_jobs')).toEqual([]);
      // An API-only process shows no export or import outcomes: its worker metrics are not registered.
      expect(samples.some((s) => s.name.startsWith('exports_finished'))).toBe(false);
    } finally {
      for (const name of [EXPORT_QUEUE, IMPORT_QUEUE]) down.app.get<Queue>(getQueueToken(name)).clients.forEach((c) => c.disconnect());
      await down.app.close();
    }
  });

  it('with METRICS_PORT, serves /metrics there without a token, and not on PORT', async () => {
    const port = await freePort();
    const separate = await startTestApp({ METRICS_PORT: String(port), HOST: '127.0.0.1' });
    try {
      const onPort = await separate.http.get('/metrics').set('X-Admin-Token', TEST_ADMIN_TOKEN);
      expect({ status: onPort.status, body: onPort.body }).toEqual({ status: 404, body: { errorMessage: 'Not found.' } });
      const metrics = request(`http://127.0.0.1:${port}`);
      const res = await metrics.get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parseMetrics(res.text);
      // The PORT request just made is counted there (404, no route).
      expect(sampleValue(samples, 'http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
      expect(sampleValue(samples, 'events_pushed_total', { outcome: 'accepted' })).toBe(0);
      // Only /metrics there: health stays on PORT.
      expect((await metrics.get('/health')).status).toBe(404);
      expect((await metrics.post('/metrics')).status).toBe(405);
      expect((await separate.http.get('/health')).status).toBe(200);
    } finally {
      await separate.close();
    }
    // Closed with the app.
    await expect(request(`http://127.0.0.1:${port}`).get('/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });
});
