import { connect, Socket } from 'node:net';
import type request from 'supertest';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { auth, startTestApp, TestApp } from './support/test-app';

/** Retries `attempt` every 250 ms until it answers 200 or `withinMs` has passed; the last answer. */
async function eventually(attempt: () => PromiseLike<request.Response>, withinMs: number): Promise<request.Response> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const res = await attempt();
    if (res.status === 200 || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 250));
  }
}

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

    // Another project (this one already holds its 2 streams): it waits 2 s for the full pool.
    const other = await t.createProject('other');
    const started = Date.now();
    const third = await t.http.get('/events/fat/export').set(auth(other, 'query'));
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('2');
    expect(third.body).toEqual({ errorMessage: 'Too many exports are being streamed right now; try again in a moment.' });
    expect(Date.now() - started).toBeLessThan(2800);

    expect((await t.http.post('/events/other').set(auth(project, 'push')).send({ a: 1 })).status).toBe(200);
    expect((await t.http.get('/health')).status).toBe(200);

    // The stalled clients are dropped once their sockets have been idle for HTTP_IDLE_TIMEOUT_MS
    // (Node counts a write queue that still shrinks as activity, so this can take a few seconds
    // more), and their connections come back.
    const again = await eventually(
      () => t.http.get('/events/fat/export').set(auth(project, 'query')).query({ query: '{filter:{n:{lte:3}}}' }),
      20_000,
    );
    expect(again.status).toBe(200);
    expect(again.body.results.map((e: { n: number }) => e.n)).toEqual([1, 2, 3]);
  }, 30_000);

  it('decides the 413 by counting when the result is too large to hold (read-ahead exceeded)', async () => {
    const all = await t.http.get('/events/fat/export').set(auth(project, 'query'));
    expect(all.status).toBe(200);
    expect(all.body.results.map((e: { n: number }) => e.n)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    await t.http
      .post('/events/fat')
      .set(auth(project, 'push'))
      .send({ n: 10_001, blob: 'y', timestamp: '2027-01-01T00:00:00Z' })
      .expect(200);
    const tooMany = await t.http.get('/events/fat/export').set(auth(project, 'query'));
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.errorMessage).toMatch(/^The query matched more than 10,000 events/);
  }, 60_000);
});

/** A client that reads `bytesPerRead` bytes every `everyMs` and never faster, on a raw socket. */
interface SlowReader {
  /** The status line and headers, once they have been read. */
  head: Promise<string>;
  destroy(): void;
}

function slowReader(port: number, path: string, headers: Record<string, string>, bytesPerRead: number, everyMs: number): SlowReader {
  const socket = connect(port, '127.0.0.1');
  const lines = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}\r\n`);
  socket.pause();
  let received = Buffer.alloc(0);
  let resolveHead: (head: string) => void = () => undefined;
  const head = new Promise<string>((resolve) => (resolveHead = resolve));
  const timer = setInterval(() => {
    const chunk = socket.read(bytesPerRead) ?? socket.read();
    if (chunk) {
      if (received.length < 4096) {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end >= 0) resolveHead(received.subarray(0, end).toString());
      }
    }
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
  socket.on('error', () => undefined);
  return { head, destroy: () => socket.destroy() };
}

/**
 * Regression: four sockets reading 1 KB every 22 s held every streaming connection past the idle
 * timeout and other projects got 503 without Retry-After. Scaled down: 1 KB every 220 ms, windows
 * of 1 s, a minimum of 64 KB/s.
 */
describe('small exports to clients that read slowly', () => {
  let t: TestApp;
  let a: CreatedProject;
  let b: CreatedProject;
  const readers: SlowReader[] = [];

  beforeAll(async () => {
    t = await startTestApp({
      EXPORT_STREAM_CONNECTIONS: '4',
      EXPORT_STREAM_CONNECTIONS_PER_PROJECT: '2',
      EXPORT_STREAM_MIN_BYTES_PER_SECOND: '65536',
      EXPORT_STREAM_GRACE_MS: '1000',
    });
    a = await t.createProject('a');
    b = await t.createProject('b');
    await t.app.get(DataSource).query(
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
       SELECT $1, 'fat', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second',
              jsonb_build_object('n', n, 'blob', repeat('x', 6000))
         FROM generate_series(1, 10000) AS n`,
      [a.projectId],
    );
    await t.http.post('/events/small').set(auth(b, 'push')).send({ n: 1, timestamp: '2026-01-01T00:00:00Z' }).expect(200);
  });
  afterAll(async () => {
    readers.forEach((r) => r.destroy());
    await t.close();
  });

  it("project A's slow readers get at most 2 streams, the rest 503 with Retry-After at once, and project B still exports", async () => {
    const port = Number(new URL(t.baseUrl).port);
    for (let i = 0; i < 4; i++) {
      readers.push(slowReader(port, '/events/fat/export', auth(a, 'query'), 1024, 220));
    }
    const heads = await Promise.all(readers.map((r) => r.head));
    const statuses = heads.map((h) => h.split(' ')[1]).sort();
    expect(statuses).toEqual(['200', '200', '503', '503']);
    for (const head of heads.filter((h) => h.split(' ')[1] === '503')) {
      expect(head).toMatch(/\r\nretry-after: 2\r\n/i);
    }

    const fromB = await t.http.get('/events/small/export').set(auth(b, 'query'));
    expect(fromB.status).toBe(200);
    expect(fromB.body.results.map((e: { n: number }) => e.n)).toEqual([1]);
  }, 30_000);

  it('drops a slow reader after the grace period and gives its connection back to the project', async () => {
    const streaming = [];
    for (const r of readers) {
      if ((await r.head).split(' ')[1] === '200') streaming.push(r);
    }
    expect(streaming).toHaveLength(2);
    // Both slow readers are still connected as far as they can tell (their socket buffers hold
    // megabytes they have not read yet), yet the project gets its streams back: the server dropped them.
    const again = await eventually(
      () => t.http.get('/events/fat/export').set(auth(a, 'query')).query({ query: '{filter:{n:{lte:2}}}' }),
      15_000,
    );
    expect(again.status).toBe(200);
    expect(again.body.results.map((e: { n: number }) => e.n)).toEqual([1, 2]);
  }, 30_000);

  it('leaves a client reading at full speed alone under the same minimum', async () => {
    const all = await t.http.get('/events/fat/export').set(auth(a, 'query'));
    expect(all.status).toBe(200);
    expect(all.body.results).toHaveLength(10_000);
  }, 60_000);
});
