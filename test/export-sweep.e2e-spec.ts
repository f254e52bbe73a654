import { DataSource } from 'typeorm';
import { pathOf, waitForExport } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp, testKeyPrefix } from './support/test-app';

/**
 * Several workers sweep the same queue every 100 ms while an export runs: the export still runs
 * once (its job id is the export id, and active jobs are left alone).
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
});
