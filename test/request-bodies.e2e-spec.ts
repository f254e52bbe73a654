import { connect } from 'node:net';
// The module object itself (not an interop copy), so jest can spy on its functions.
import * as zlib from 'node:zlib';
import type { CreatedProject } from '../src/projects/projects.service';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TestApp } from './support/test-app';

/** What a raw HTTP/1.1 exchange got back, and how much of the request body had been sent by then. */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Body bytes written before the status line arrived. */
  bodyBytesSent: number;
  /** Whether the server closed the connection after answering. */
  closed: boolean;
  /** Whether a `100 Continue` came before the answer. */
  continued: boolean;
}

/**
 * Sends `head` (request line and headers, without the final blank line) and then `body` in 64 KiB
 * chunks, one per event-loop turn, but stops sending as soon as an answer starts arriving, and
 * never sends more than `sendAtMost` body bytes (then it just waits) until a `100 Continue`
 * arrives, after which it sends the rest. Resolves once the answer's
 * body is complete (by Content-Length) or the server closes; rejects after `timeoutMs`.
 */
function rawExchange(
  baseUrl: string,
  head: string,
  body: Buffer,
  { sendAtMost = body.length, timeoutMs = 10_000 }: { sendAtMost?: number; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = Buffer.alloc(0);
    let sent = 0;
    let sentAtAnswer: number | null = null;
    let settled = false;
    let limit = sendAtMost;
    let continued = false;
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms (sent ${sent} body bytes)`)), timeoutMs);
    const finish = (error: Error | null, closed = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        socket.destroy();
        reject(error);
        return;
      }
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const lines = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(
        lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({
        status: Number(lines[0].split(' ')[1]),
        headers,
        body: received.subarray(end + 4).toString('utf8'),
        bodyBytesSent: sentAtAnswer ?? sent,
        closed,
        continued,
      });
      socket.destroy();
    };
    const complete = () => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      return length !== null && received.length - end - 4 >= Number(length[1]);
    };
    const pump = () => {
      while (!settled && sentAtAnswer === null && sent < Math.min(limit, body.length)) {
        const chunk = body.subarray(sent, Math.min(sent + 65_536, limit, body.length));
        sent += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
        return void setImmediate(pump);
      }
    };
    socket.on('connect', () => {
      socket.write(`${head}\r\n\r\n`);
      pump();
    });
    socket.on('data', (data) => {
      if (sentAtAnswer === null) sentAtAnswer = sent;
      received = Buffer.concat([received, data]);
      // An interim `100 Continue` is not the answer: keep sending.
      if (/^HTTP\/1\.1 100 [^\r]*\r\n\r\n$/.test(received.toString('latin1'))) {
        received = Buffer.alloc(0);
        sentAtAnswer = null;
        limit = body.length;
        continued = true;
        pump();
        return;
      }
      if (complete()) setTimeout(() => finish(null, socket.readableEnded), 50);
    });
    socket.on('end', () => finish(null, true));
    socket.on('error', (error) => (received.length > 0 ? finish(null, true) : finish(error)));
  });
}

/** A 71-byte brotli body that inflates to 32 MB of `[{},{},…]`. */
function brotliBomb(): Buffer {
  const text = `[${'{},'.repeat((32 * 1024 * 1024) / 3 - 1)}{}]`;
  return zlib.brotliCompressSync(Buffer.from(text), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
}

const MB = 1024 * 1024;

/**
 * Counts calls of the zlib stream factories a body parser would use to inflate a body. They are
 * read-only properties of the module (jest.spyOn cannot assign them), but configurable.
 */
function countInflaters(): { calls: () => number; restore: () => void } {
  const names = ['createBrotliDecompress', 'createGunzip', 'createInflate', 'createUnzip'] as const;
  const originals = names.map((name) => Object.getOwnPropertyDescriptor(zlib, name)!);
  let calls = 0;
  names.forEach((name, i) => {
    const original = originals[i].value as (...args: unknown[]) => unknown;
    Object.defineProperty(zlib, name, { ...originals[i], value: (...args: unknown[]) => (calls++, original(...args)) });
  });
  return { calls: () => calls, restore: () => names.forEach((name, i) => Object.defineProperty(zlib, name, originals[i])) };
}

describe('request bodies are read only after authentication (regressions)', () => {
  let t: TestApp;
  let project: CreatedProject;
  let host: string;
  let jsonParse: jest.SpyInstance;
  let inflate: ReturnType<typeof countInflaters>;

  /** Calls of JSON.parse with more than `bytes` characters (the app runs in this process). */
  const bigParses = (bytes: number) => jsonParse.mock.calls.filter(([text]) => typeof text === 'string' && text.length > bytes).length;

  beforeAll(async () => {
    // A long idle timeout, so that an answer which waits for the body cannot pass as "at once".
    t = await startTestApp({ HTTP_IDLE_TIMEOUT_MS: '120000' });
    project = await t.createProject();
    host = `Host: ${new URL(t.baseUrl).host}`;
  });
  beforeEach(() => {
    jsonParse = jest.spyOn(JSON, 'parse');
    inflate = countInflaters();
  });
  afterEach(() => {
    jest.restoreAllMocks();
    inflate.restore();
  });
  afterAll(() => t.close());

  const keyHeaders = (key: keyof CreatedProject['keys'] = 'push') =>
    `X-Project-Id: ${project.projectId}\r\nX-Api-Key: ${project.keys[key]}`;

  it('answers the 71-byte brotli bomb without a key with 401, never inflating or parsing it', async () => {
    const bomb = brotliBomb();
    expect(bomb.length).toBeLessThan(100);
    const res = await t.http.post('/events').set('Content-Encoding', 'br').set('Content-Type', 'application/json').send(bomb);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ errorMessage: expect.stringMatching(/^Unauthorised/) });
    expect(inflate.calls()).toBe(0);
    expect(bigParses(1000)).toBe(0);
  });

  it('answers a compressed body with a valid key 415, never inflating it', async () => {
    for (const [encoding, body] of [
      ['br', brotliBomb()],
      ['gzip', zlib.gzipSync('{"a":1}')],
      ['deflate', zlib.deflateSync('{"a":1}')],
    ] as const) {
      const res = await t.http.post('/events/zipped').set(auth(project, 'push')).set('Content-Encoding', encoding).send(body);
      expect(res.status).toBe(415);
      expect(res.body).toEqual({ errorMessage: 'Compressed request bodies are not supported: send the JSON without a Content-Encoding.' });
    }
    expect(inflate.calls()).toBe(0);
    expect(bigParses(1000)).toBe(0);
    const identity = await t.http.post('/events/zipped').set(auth(project, 'push')).set('Content-Encoding', 'Identity').send('{"a":1}');
    expect(identity.status).toBe(200);
  });

  it('answers a 32 MB body without a key 401 while the client is still sending, and closes the connection', async () => {
    const body = Buffer.alloc(32 * MB, '{},');
    const head = `POST /events HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`;
    // Only 1 MB is ever sent: an answer that needed the whole body would never come.
    const res = await rawExchange(t.baseUrl, head, body, { sendAtMost: MB });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ errorMessage: expect.stringMatching(/^Unauthorised/) });
    expect(res.bodyBytesSent).toBeLessThanOrEqual(MB);
    expect(res.headers.connection).toBe('close');
    expect(res.closed).toBe(true);
    expect(bigParses(1000)).toBe(0);
  });

  it('lets fetch and supertest clients that send the whole body see the 401', async () => {
    const viaFetch = await fetch(`${t.baseUrl}/events`, { method: 'POST', body: Buffer.alloc(32 * MB, '{},') });
    expect(viaFetch.status).toBe(401);
    expect(((await viaFetch.json()) as { errorMessage: string }).errorMessage).toMatch(/^Unauthorised/);
    // superagent sends large bodies slowly whatever the server does (about a minute for 32 MB here).
    const viaSupertest = await t.http
      .post('/events')
      .set('Content-Type', 'application/json')
      .send(Buffer.alloc(4 * MB, '{},'));
    expect(viaSupertest.status).toBe(401);
    expect(viaSupertest.body.errorMessage).toMatch(/^Unauthorised/);
    expect(bigParses(1000)).toBe(0);
  });

  it('answers a wrong key or admin token with 401 before reading the body, even when the body is not JSON', async () => {
    const wrongKey = await t.http
      .post('/events/x')
      .set({ 'X-Project-Id': project.projectId, 'X-Api-Key': '0'.repeat(32) })
      .set('Content-Type', 'application/json')
      .send('{"a":');
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.body).toEqual({ errorMessage: 'Unauthorised. Please check your Project Id and API Key.' });
    const wrongType = await t.http.post('/events/x').set(auth(project, 'query')).set('Content-Type', 'application/json').send('{"a":');
    expect(wrongType.status).toBe(403);
    const head = `POST /projects HTTP/1.1\r\n${host}\r\nX-Admin-Token: wrong-token-0123456789\r\nContent-Length: ${MB}`;
    const admin = await rawExchange(t.baseUrl, head, Buffer.alloc(MB, 'x'), { sendAtMost: 0 });
    expect(admin.status).toBe(401);
    expect(JSON.parse(admin.body)).toEqual({ errorMessage: 'Missing or wrong X-Admin-Token.' });
  });

  it('answers a declared Content-Length over the limit 413 at once, with or without a key', async () => {
    const withKey = await rawExchange(
      t.baseUrl,
      `POST /events HTTP/1.1\r\n${host}\r\n${keyHeaders()}\r\nContent-Length: 1073741824`,
      Buffer.from('['),
    );
    expect(withKey.status).toBe(413);
    expect(JSON.parse(withKey.body)).toEqual({ errorMessage: 'The request body is too large.' });
    expect(withKey.closed).toBe(true);
    const withoutKey = await rawExchange(t.baseUrl, `POST /events HTTP/1.1\r\n${host}\r\nContent-Length: 1073741824`, Buffer.from('['));
    expect(withoutKey.status).toBe(401);
    // Each route's own limit: 1 MB for one event, 256 KB for an S3 export or a project.
    const limits: Array<[string, string, number]> = [
      ['/events/one', keyHeaders(), MB],
      ['/EVENTS/one', keyHeaders(), MB],
      ['/events/one/export', keyHeaders('query'), 256 * 1024],
      ['/projects', `X-Admin-Token: ${TEST_ADMIN_TOKEN}`, 256 * 1024],
    ];
    for (const [path, headers, limit] of limits) {
      const over = await rawExchange(
        t.baseUrl,
        `POST ${path} HTTP/1.1\r\n${host}\r\n${headers}\r\nContent-Length: ${limit + 1}`,
        Buffer.alloc(0),
      );
      expect([path, over.status]).toEqual([path, 413]);
    }
  });

  it('stops reading a chunked body at its limit and answers 413 while the client is still sending', async () => {
    const chunk = (data: Buffer) => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const body = Buffer.concat(Array.from({ length: 40 }, () => chunk(Buffer.alloc(64 * 1024, ' '))));
    const head = `POST /events/chunky HTTP/1.1\r\n${host}\r\n${keyHeaders()}\r\nTransfer-Encoding: chunked`;
    // 1.5 MB sent out of 2.5 MB, never the final chunk: the 413 must not wait for the end.
    const res = await rawExchange(t.baseUrl, head, body, { sendAtMost: 24 * (64 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ errorMessage: 'The request body is too large.' });
    expect(res.closed).toBe(true);
  });

  it('keeps the route limits: just over 1 MB for one event is 413, 2 MB for a batch (any case) is accepted', async () => {
    const over = await t.http
      .post('/events/one')
      .set(auth(project, 'push'))
      .send(`{"a":"${'x'.repeat(MB)}"}`);
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ errorMessage: 'The request body is too large.' });
    const events = Array.from({ length: 2000 }, (_, i) => ({ i, pad: 'y'.repeat(1000) }));
    const batch = await t.http
      .post('/EVENTS')
      .set(auth(project, 'push'))
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify({ big: events }));
    expect(batch.status).toBe(200);
    expect(batch.body.big).toHaveLength(2000);
    expect(batch.headers.connection).not.toBe('close'); // a body read in full keeps the connection
  });

  it('never reads the body of GET, DELETE, health or unknown routes', async () => {
    const notJson = '{"a":';
    const query = await t.http
      .get('/events/untouched')
      .query({ query: '{"select":{"n":"count"}}' })
      .set(auth(project, 'query'))
      .set('Content-Type', 'application/json')
      .send(notJson);
    expect(query.status).toBe(200);
    const exported = await t.http
      .get('/events/untouched/export')
      .set(auth(project, 'query'))
      .set('Content-Type', 'application/json')
      .send(notJson);
    expect(exported.status).toBe(200);
    const deleted = await t.http
      .delete('/collections/untouched')
      .set(auth(project, 'master'))
      .set('Content-Type', 'application/json')
      .send(notJson);
    expect(deleted.status).toBe(404);
    const legacy = await t.http
      .delete('/events/untouched')
      .set(auth(project, 'master'))
      .set('Content-Type', 'application/json')
      .send(notJson);
    expect(legacy.status).toBe(404);
    expect((await t.http.get('/health').set('Content-Type', 'application/json').send(notJson)).status).toBe(200);
    expect((await t.http.put('/events/untouched').set(auth(project, 'master')).send(notJson)).status).toBe(404);
    expect(jsonParse.mock.calls.some(([text]) => text === notJson)).toBe(false);
    // A GET announcing 32 MB and sending none of it is answered at once.
    const head = `GET /health HTTP/1.1\r\n${host}\r\nContent-Length: ${32 * MB}`;
    const health = await rawExchange(t.baseUrl, head, Buffer.alloc(0));
    expect(health.status).toBe(200);
    expect(health.closed).toBe(true);
  });

  it('still answers a valid key with bad JSON 400, and keeps the other body rules', async () => {
    const bad = await t.http.post('/events/x').set(auth(project, 'push')).set('Content-Type', 'application/json').send('{"a":');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ errorMessage: expect.stringMatching(/^The request body is not valid JSON: .+\.$/) });
    expect(bad.headers.connection).not.toBe('close');
    const utf16 = await t.http
      .post('/events/x')
      .set(auth(project, 'push'))
      .set('Content-Type', 'application/json; charset=utf-16')
      .send('{}');
    expect(utf16.status).toBe(400);
    expect(utf16.body).toEqual({ errorMessage: 'The request body must be UTF-8 encoded JSON.' });
    const bom = await t.http
      .post('/events/bom')
      .set(auth(project, 'push'))
      .send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]));
    expect(bom.status).toBe(200);
    const proto = await t.http
      .post('/projects')
      .set('X-Admin-Token', TEST_ADMIN_TOKEN)
      .set('Content-Type', 'application/json')
      .send('{"name":"p","__proto__":{"x":1}}');
    expect(proto.status).toBe(422);
    expect(proto.body).toEqual({ errors: [{ field: '__proto__', description: '__proto__ cannot be used as a property name.' }] });
    const empty = await t.http.post('/projects').set('X-Admin-Token', TEST_ADMIN_TOKEN).send('');
    expect(empty.status).toBe(422);
  });

  it('sends 100 Continue only to an authenticated request', async () => {
    const body = Buffer.from('{"a":1}');
    const refused = await rawExchange(
      t.baseUrl,
      `POST /events/continue HTTP/1.1\r\n${host}\r\nExpect: 100-continue\r\nContent-Length: ${body.length}`,
      body,
      { sendAtMost: 0 },
    );
    expect(refused.status).toBe(401);
    expect(refused.continued).toBe(false);
    const accepted = await rawExchange(
      t.baseUrl,
      `POST /events/continue HTTP/1.1\r\n${host}\r\n${keyHeaders()}\r\nExpect: 100-continue\r\nContent-Length: ${body.length}`,
      body,
      { sendAtMost: 0 },
    );
    // Nothing was sent before the 100 Continue; rawExchange then sends the body.
    expect(accepted.continued).toBe(true);
    expect(accepted.status).toBe(200);
  });
});
