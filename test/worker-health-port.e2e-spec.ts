import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, until, waitForExport } from './support/exports';
import { freePort } from './support/ports';
import { parseMetrics, sampleValue } from './support/prometheus';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TEST_SECRETS_KEY, TestApp } from './support/test-app';

const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');
const BUCKET = 'worker-metrics';

/** A worker-only process (ROLE=worker) answers /health, /health/ready and /metrics on HEALTH_PORT (docs/monitoring.md). */
describe('ROLE=worker with HEALTH_PORT', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  let worker: ChildProcess;
  let port: number;
  let stderr = '';

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
    s3 = await startS3Server({ buckets: [BUCKET] });
    // The API alone: exports run only in the worker process.
    t = await startTestApp({ ROLE: 'api', S3_ALLOWED_ENDPOINTS: s3.endpoint });
    project = await t.createProject();
    port = await freePort();
    worker = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        ROLE: 'worker',
        HOST: '127.0.0.1',
        HEALTH_PORT: String(port),
        METRICS_PORT: '',
        DATABASE_URL: t.config.database.url,
        REDIS_URL: t.config.redis.url,
        QUEUE_PREFIX: t.config.redis.queuePrefix,
        SECRETS_KEY: TEST_SECRETS_KEY,
        S3_ALLOWED_ENDPOINTS: s3.endpoint,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await until(
      'the worker to answer on HEALTH_PORT',
      async () =>
        (
          await request(`http://127.0.0.1:${port}`)
            .get('/health')
            .catch(() => null)
        )?.status === 200,
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; worker stderr: ${stderr}`);
    });
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      await new Promise((resolve) => (worker.once('exit', resolve), worker.kill('SIGKILL')));
    }
    await t?.close();
    await s3?.close();
  });

  const http = () => request(`http://127.0.0.1:${port}`);

  it('answers /health and /health/ready as the API does, and 404 elsewhere', async () => {
    expect((await http().get('/health')).body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
    const ready = await http().get('/health/ready');
    expect(ready.status).toBe(200);
    const up = { postgres: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up' } };
    expect(ready.body).toEqual({ status: 'ok', info: up, error: {}, details: up });
    const other = await http().get('/events/x');
    expect({ status: other.status, body: other.body }).toEqual({ status: 404, body: { errorMessage: 'Not found.' } });
  });

  it('shows its own metrics at /metrics without a token: the exports it ran, its queues; no API metrics', async () => {
    const pushed = await t.http
      .post('/events')
      .set(auth(project, 'push'))
      .send({ orders: [{ id: 1 }, { id: 2 }, { id: 3 }] });
    expect(pushed.status).toBe(200);
    const created = await t.http
      .post('/events/orders/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/${BUCKET}/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(created.status).toBe(201);
    const { final } = await waitForExport(t.http, pathOf(created.headers.location), auth(project, 'query'));
    expect(final.status).toBe('Complete');

    const res = await http().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const samples = parseMetrics(res.text);
    expect(sampleValue(samples, 'exports_finished_total', { status: 'complete' })).toBe(1);
    expect(sampleValue(samples, 'export_duration_seconds_count', { status: 'complete' })).toBe(1);
    expect(sampleValue(samples, 'export_bytes_total')).toBe(final.totalBytes);
    expect(sampleValue(samples, 'imports_finished_total', { status: 'complete' })).toBe(0);
    expect(sampleValue(samples, 'bull_queue_up', { queue: 'exports' })).toBe(1);
    expect(sampleValue(samples, 'bull_queue_jobs', { queue: 'exports', state: 'active' })).toBe(0);
    expect(sampleValue(samples, 'pg_pool_connections', { pool: 'main' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // The API's metrics are the API process's, not the worker's.
    expect(samples.some((s) => s.name.startsWith('http_request_duration_seconds') || s.name === 'events_pushed_total')).toBe(false);
    const api = parseMetrics((await t.http.get('/metrics').set('X-Admin-Token', TEST_ADMIN_TOKEN)).text);
    expect(sampleValue(api, 'events_pushed_total', { outcome: 'accepted' })).toBe(3);
    expect(api.some((s) => s.name === 'exports_finished_total')).toBe(false);
  });
});
