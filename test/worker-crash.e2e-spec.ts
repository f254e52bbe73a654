import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { ExportStatus, pathOf, waitForExport } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TEST_SECRETS_KEY, TestApp } from './support/test-app';
import { bulkLoad } from './support/bulk-load';

const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');
const EVENTS = 250_000;

/** A separate worker process (ROLE=worker), as an operator would run one, that a test can kill. */
function startWorker(t: TestApp): ChildProcess {
  return spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      ROLE: 'worker',
      DATABASE_URL: t.config.databaseUrl,
      REDIS_URL: t.config.redisUrl,
      QUEUE_PREFIX: t.config.queuePrefix,
      SECRETS_KEY: TEST_SECRETS_KEY,
      EXPORT_LOCK_DURATION_MS: '2000',
      EXPORT_STALLED_INTERVAL_MS: '1000',
      EXPORT_QUEUE_SIZE: '1',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

describe('an export whose worker dies mid-way', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
    }
    s3 = await startS3Server({ buckets: ['crash'] });
    t = await startTestApp({ ROLE: 'api', S3_ALLOWED_ENDPOINTS: s3.endpoint });
    project = await t.createProject();
    // Stored straight through SQL: this test is about the worker, and pushing 250,000 events
    // through HTTP is covered (more slowly) elsewhere. Ids 1..N in timestamp order.
    // Test data loaded past the app's QUERY_STATEMENT_TIMEOUT_MS (a bulk insert, not an API statement).
    await bulkLoad(t.config.databaseUrl, `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
         SELECT $1, 'orders', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second',
                jsonb_build_object('n', n, 'product', jsonb_build_object('name', 'Product ' || (n % 97), 'price', n % 1000 + 0.99),
                                   'customer', jsonb_build_object('city', 'City ' || (n % 13), 'vip', n % 7 = 0),
                                   'note', repeat('x', 120))
           FROM generate_series(1, $2::int) AS n`,
        [project.projectId, EVENTS]);
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) {
      worker.kill('SIGKILL');
    }
    await t.close();
    await s3.close();
  });

  it('is picked up again and completes with exactly the matching events, no gaps, no duplicates', async () => {
    const first = startWorker(t);
    workers.push(first);
    const res = await t.http
      .post('/events/orders/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/crash/runs/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    const monitor = pathOf(res.headers.location);

    // Kill the worker (SIGKILL: no clean-up at all) once at least one part is in S3.
    let beforeKill: ExportStatus | undefined;
    for (let i = 0; i < 1200 && !beforeKill; i++) {
      const doc = (await t.http.get(monitor).set(auth(project, 'query'))).body as ExportStatus;
      if (doc.status === 'Running' && doc.transferredBytes > 0) {
        first.kill('SIGKILL');
        beforeKill = doc;
      } else {
        expect(['Pending', 'Running']).toContain(doc.status);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    expect(beforeKill).toBeDefined();
    await new Promise((resolve) => first.once('exit', resolve));
    const afterKill = (await t.http.get(monitor).set(auth(project, 'query'))).body as ExportStatus;
    expect(afterKill.status).toBe('Running');
    expect(afterKill.percentDone).toBeLessThan(100);

    workers.push(startWorker(t));
    const { final, readings } = await waitForExport(t.http, monitor, auth(project, 'query'), 90_000, 100);
    expect(final.status).toBe('Complete');
    expect(final.percentDone).toBe(100);
    expect(readings[0].percentDone).toBeGreaterThanOrEqual(beforeKill!.percentDone);

    const object = await s3.getObject('crash', `runs/${final.filename}`);
    expect(final.totalBytes).toBe(object.length);
    expect(final.transferredBytes).toBe(object.length);
    const text = object.toString('utf8');
    const ids = text.slice(0, -1).split('\n').map((line) => JSON.parse(line).id as number);
    expect(ids.length).toBe(EVENTS);
    for (let i = 0; i < EVENTS; i++) {
      if (ids[i] !== i + 1) {
        throw new Error(`line ${i} holds event ${ids[i]}, expected ${i + 1}`);
      }
    }
    const [row] = await t.app.get(DataSource).query('SELECT attempts, s3_credentials_encrypted FROM exports WHERE id = $1', [
      final.filename.slice(0, 24),
    ]);
    expect(row).toEqual({ attempts: 2, s3_credentials_encrypted: null });
  }, 180_000);
});
