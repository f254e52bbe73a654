import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { auth, startTestApp, TestApp } from './support/test-app';
import { bulkLoad } from './support/bulk-load';

describe('S3 export limit of 1,000,000 events (Connect docs, "Exporting events")', () => {
  let t: TestApp;
  let project: CreatedProject;
  const body = { s3Path: 's3://limit-bucket/exports/', s3AccessKeyId: 'AKIALIMIT', s3SecretAccessKey: 'limit-secret' };

  beforeAll(async () => {
    // API only (and, like every test app, on a queue of its own): the accepted export must not run.
    t = await startTestApp({ ROLE: 'api' });
    project = await t.createProject();
    // Test data loaded past the app's QUERY_STATEMENT_TIMEOUT_MS (a bulk insert, not an API statement).
    await bulkLoad(
      t.config.database.url,
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
         SELECT $1, 'huge', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second', '{}'::jsonb
           FROM generate_series(1, 1000000) AS n`,
      [project.projectId],
    );
  }, 120_000);

  afterAll(async () => {
    await t.close();
  });

  it('accepts exactly 1,000,000 events and answers 413 for 1,000,001, before anything is created', async () => {
    const accepted = await t.http.post('/events/huge/export').set(auth(project, 'query')).send(body);
    expect(accepted.status).toBe(201);
    expect(accepted.body.status).toBe('Pending');

    await t.http.post('/events/huge').set(auth(project, 'push')).send({ one: 'more' }).expect(200);
    const refused = await t.http.post('/events/huge/export').set(auth(project, 'query')).send(body);
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({
      errorMessage:
        'The query matched more than 1,000,000 events, the most one export can hold. Narrow the timeframe or filter and export in several parts.',
    });
    const [{ count }] = await t.app
      .get(DataSource)
      .query('SELECT count(*)::int AS count FROM exports WHERE project_id = $1', [project.projectId]);
    expect(count).toBe(1);

    const narrowed = await t.http
      .post('/events/huge/export')
      .set(auth(project, 'query'))
      .send({ ...body, query: { timeframe: { end: '2026-01-02T00:00:00Z' } } });
    expect(narrowed.status).toBe(201);
  }, 60_000);
});
