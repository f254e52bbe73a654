import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, waitForExport } from './support/exports';
import { expectNoIncompleteUploads, startS3Server, TestS3Server } from './support/s3-server';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';
import { auth, startTestApp, TestApp } from './support/test-app';

/**
 * Fairness between projects (docs/exports.md, "Fair turns"): one project's exports never hold every
 * worker, and another project's export starts within seconds.
 */
describe('S3 exports of two projects', () => {
  let s3: TestS3Server;
  let stuck: TcpProxy;
  let t: TestApp;
  let a: CreatedProject;
  let b: CreatedProject;
  const BUCKET = 'fair';

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    // Project A exports through a proxy that never answers: its exports stay Running as long as the test needs.
    stuck = await startTcpProxy('127.0.0.1', s3.port);
    stuck.freeze();
    t = await startTestApp({
      S3_ALLOWED_ENDPOINTS: `${s3.endpoint},http://127.0.0.1:${stuck.port}`,
      EXPORT_CONCURRENCY: '4',
      EXPORT_MAX_RUNNING_PER_PROJECT: '2',
      EXPORT_MAX_PENDING_PER_PROJECT: '20',
    });
    a = await t.createProject('a');
    b = await t.createProject('b');
    await t.http.post('/events/shop').set(auth(a, 'push')).send({ n: 1 }).expect(200);
    await t.http.post('/events/shop').set(auth(b, 'push')).send({ n: 2 }).expect(200);
  });
  afterAll(async () => {
    await expectNoIncompleteUploads(s3, { timeoutMs: 5000 }); // failed and cancelled exports aborted theirs
    await t.close();
    await stuck.close();
    await s3.close();
  });

  const post = (project: CreatedProject, endpoint: string) =>
    t.http
      .post('/events/shop/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${endpoint}/${BUCKET}/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });

  it("starts project B's export within 5 s while project A holds 20 unfinished exports, and runs at most 2 of A's at once", async () => {
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push(await post(a, `http://127.0.0.1:${stuck.port}`));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(20);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(20);
    expect(refused[0].body.errorMessage).toMatch(/20 unfinished/);
    expect(Number(refused[0].headers['retry-after'])).toBeGreaterThan(0);

    const db = t.app.get(DataSource);
    const running = async (project: CreatedProject) =>
      Number((await db.query(`SELECT count(*) AS n FROM exports WHERE project_id = $1 AND status = 'Running'`, [project.projectId]))[0].n);
    // A's first two start; the others wait for their turn.
    for (let i = 0; i < 200 && (await running(a)) < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await running(a)).toBe(2);

    const created = await post(b, s3.endpoint);
    expect(created.status).toBe(201);
    const { final } = await waitForExport(t.http, pathOf(created.headers.location), auth(b, 'query'), 10_000);
    expect(final.status).toBe('Complete');
    expect(new Date(final.started!).getTime() - new Date(final.created).getTime()).toBeLessThan(5000);
    expect(await running(a)).toBe(2); // still no more than its turn
    expect((await s3.getObject(BUCKET, final.filename)).toString()).toMatch(/"n": 2/);

    // Cancel A's exports, so its workers let go of their hung uploads at once.
    for (const res of answers.filter((r) => r.status === 201)) {
      await t.http.delete(pathOf(res.headers.location)).set(auth(a, 'query')).expect(200);
    }
  }, 60_000);
});
