import { connect, Socket } from 'node:net';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { auth, startTestApp, TestApp } from './support/test-app';

/** Regression: small exports streamed to clients that never read must not starve the service. */
describe('small exports to clients that stop reading', () => {
  let t: TestApp;
  let project: CreatedProject;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await startTestApp({ EXPORT_STREAM_CONNECTIONS: '2', HTTP_IDLE_TIMEOUT_MS: '3000' });
    project = await t.createProject();
    // 10,000 events of about 6 KB: a 60 MB response, far more than socket buffers hold.
    await t.app.get(DataSource).query(
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
       SELECT $1, 'fat', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second',
              jsonb_build_object('n', n, 'blob', repeat('x', 6000))
         FROM generate_series(1, 10000) AS n`,
      [project.projectId],
    );
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await t.close();
  });

  it('answers 503 for more streams than the pool holds, keeps pushes and health working, and frees stalled streams', async () => {
    const port = Number(new URL(t.baseUrl).port);
    for (let i = 0; i < 2; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.write(
        `GET /events/fat/export HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Project-Id: ${project.projectId}\r\nX-Api-Key: ${project.keys.query}\r\n\r\n`,
      );
      socket.pause(); // never read: the server's writes back up
      sockets.push(socket);
    }
    await new Promise((r) => setTimeout(r, 500));

    const started = Date.now();
    const third = await t.http.get('/events/fat/export').set(auth(project, 'query'));
    expect(third.status).toBe(503);
    expect(third.body).toEqual({ errorMessage: 'Too many exports are being streamed right now; try again in a moment.' });
    expect(Date.now() - started).toBeLessThan(2800);

    expect((await t.http.post('/events/other').set(auth(project, 'push')).send({ a: 1 })).status).toBe(200);
    expect((await t.http.get('/health')).status).toBe(200);

    // The stalled clients are dropped after HTTP_IDLE_TIMEOUT_MS, and their connections come back.
    await new Promise((r) => setTimeout(r, 3500));
    const again = await t.http.get('/events/fat/export').set(auth(project, 'query')).query({ query: '{filter:{n:{lte:3}}}' });
    expect(again.status).toBe(200);
    expect(again.body.results.map((e: { n: number }) => e.n)).toEqual([1, 2, 3]);
  }, 30_000);

  it('decides the 413 by counting when the result is too large to hold (read-ahead exceeded)', async () => {
    const all = await t.http.get('/events/fat/export').set(auth(project, 'query'));
    expect(all.status).toBe(200);
    expect(all.body.results.map((e: { n: number }) => e.n)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    await t.http.post('/events/fat').set(auth(project, 'push')).send({ n: 10_001, blob: 'y', timestamp: '2027-01-01T00:00:00Z' }).expect(200);
    const tooMany = await t.http.get('/events/fat/export').set(auth(project, 'query'));
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.errorMessage).toMatch(/^The query matched more than 10,000 events/);
  }, 60_000);
});
