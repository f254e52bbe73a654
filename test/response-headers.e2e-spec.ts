import { Logger } from '@nestjs/common';
import { createHttpApp } from '../src/app.setup';
import { loadConfig } from '../src/config/configuration';
import { EventsService } from '../src/events/events.service';
import type { CreatedProject } from '../src/projects/projects.service';
import { auth, startTestApp, TEST_SECRETS_KEY, TestApp } from './support/test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The directives of a Content-Security-Policy header, by name. */
function directives(policy: string): Record<string, string[]> {
  return Object.fromEntries(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name, values]),
  );
}

describe('request ids and security headers', () => {
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    t = await startTestApp();
    project = await t.createProject();
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => t.close());

  describe('X-Request-Id', () => {
    it('is on every response, errors included, a new UUID unless a well-formed one is given', async () => {
      const responses = [
        await t.http.get('/health'),
        await t.http.get('/nope'),
        await t.http.post('/events/x').send('{}'),
        await t.http.post('/events/x').set(auth(project, 'push')).set('Content-Type', 'application/json').send('{"a":'),
        await t.http.post('/events/x').set(auth(project, 'push')).set('Content-Encoding', 'gzip').send('{}'),
      ];
      expect(responses.map((r) => r.status)).toEqual([200, 404, 401, 400, 415]);
      const ids = responses.map((r) => r.headers['x-request-id']);
      ids.forEach((id) => expect(id).toMatch(UUID));
      expect(new Set(ids).size).toBe(ids.length);

      const kept = 'trace-01.abc:DEF_x-9';
      expect((await t.http.get('/health').set('X-Request-Id', kept)).headers['x-request-id']).toBe(kept);
      for (const bad of ['', 'has space', 'new\\nline', 'é', 'x'.repeat(129), '<script>']) {
        const res = await t.http.get('/health').set('X-Request-Id', bad);
        expect([bad, res.headers['x-request-id']]).toEqual([bad, expect.stringMatching(UUID)]);
      }
      expect((await t.http.get('/health').set('X-Request-Id', 'x'.repeat(128))).headers['x-request-id']).toBe('x'.repeat(128));
    });

    it("is the id of a 500's error log line, and of every line logged while handling the request", async () => {
      const lines: string[] = [];
      for (const stream of [process.stdout, process.stderr]) {
        const write = stream.write.bind(stream);
        jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
          lines.push(String(chunk));
          return write(chunk, ...rest);
        }) as typeof stream.write);
      }
      jest.spyOn(t.app.get(EventsService), 'pushOne').mockImplementation(async () => {
        await new Promise((resolve) => setTimeout(resolve, 10)); // the id must survive async hops
        new Logger('PushTest').error('about to fail');
        throw new Error('relation "secret_table" does not exist');
      });
      const res = await t.http.post('/events/x').set(auth(project, 'push')).set('X-Request-Id', 'req-500-test').send({ a: 1 });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ errorMessage: 'An error occurred while processing your request' });
      expect(res.headers['x-request-id']).toBe('req-500-test');
      const own = lines.filter((l) => l.includes('about to fail') || l.includes('secret_table'));
      expect(own).toHaveLength(2);
      expect(own[0]).toMatch(/request req-500-test about to fail/);
      expect(own[1]).toMatch(/request req-500-test POST \/events\/x failed: Error: relation "secret_table"/);
      expect(own[1].match(/req-500-test/g)).toHaveLength(1);

      // Lines logged outside a request carry no id.
      lines.length = 0;
      new Logger('Outside').error('outside any handler');
      expect(lines.find((l) => l.includes('outside any handler'))).not.toMatch(/request /);
    });

    it('is exposed to browsers through CORS, and may be sent by them', async () => {
      const preflight = await t.http
        .options('/events/x')
        .set('Origin', 'https://shop.example.com')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'x-request-id,x-api-key');
      expect(preflight.headers['access-control-allow-headers']).toMatch(/X-Request-Id/);
      const res = await t.http.get('/health').set('Origin', 'https://shop.example.com');
      expect(res.headers['access-control-expose-headers']).toBe(
        'ETag,Location,X-Request-Id,Retry-After,RateLimit-Limit,RateLimit-Remaining,RateLimit-Reset',
      );
    });
  });

  describe('answers without a body', () => {
    it('a push (200) is typed application/json; 204 and 304 carry neither body nor Content-Type', async () => {
      const pushed = await t.http.post('/events/empty-bodies').set(auth(project, 'push')).send({ a: 1 });
      expect([pushed.status, pushed.headers['content-type'], pushed.headers['content-length'], pushed.text]).toEqual([
        200,
        'application/json; charset=utf-8',
        '0',
        '',
      ]);
      // Refused pushes are JSON too (connect-rb reads the type of every answer).
      const refused = await t.http.post('/events/empty-bodies').set(auth(project, 'query')).send({ a: 1 });
      expect([refused.status, refused.headers['content-type']]).toEqual([403, 'application/json; charset=utf-8']);

      const query = await t.http.get('/events/empty-bodies').query({ query: '{"select":{"n":"count"}}' }).set(auth(project, 'query'));
      const notModified = await t.http
        .get('/events/empty-bodies')
        .query({ query: '{"select":{"n":"count"}}' })
        .set(auth(project, 'query'))
        .set('If-None-Match', query.headers.etag);
      expect([notModified.status, notModified.headers['content-type'], notModified.text]).toEqual([304, undefined, '']);

      const deleted = await t.http.delete('/collections/empty-bodies').set(auth(project, 'master'));
      expect([deleted.status, deleted.headers['content-type'], deleted.text]).toEqual([204, undefined, '']);
      const legacy = await t.http.post('/events/empty-bodies').set(auth(project, 'push')).send({ a: 1 });
      expect(legacy.status).toBe(200);
      const deletedLegacy = await t.http.delete('/events/empty-bodies').set(auth(project, 'master'));
      expect([deletedLegacy.status, deletedLegacy.headers['content-type'], deletedLegacy.text]).toEqual([204, undefined, '']);
    });
  });

  describe('security headers (helmet)', () => {
    it('are on API responses, errors included', async () => {
      for (const res of [await t.http.get('/health'), await t.http.post('/events/x').send('{}')]) {
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
        expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
        expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
        expect(res.headers['x-powered-by']).toBeUndefined();
      }
    });

    it("keep the Swagger UI working: every script and style of /docs is allowed by the page's policy", async () => {
      const page = await t.http.get('/docs/');
      expect(page.status).toBe(200);
      const policy = directives(page.headers['content-security-policy']);
      expect(policy['script-src']).toEqual(["'self'"]);
      expect(policy['upgrade-insecure-requests']).toBeUndefined();
      const html = page.text;

      // Scripts: all external and same-origin ('self'), none inline, no inline event handlers.
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
      expect(scripts.length).toBeGreaterThanOrEqual(3);
      for (const [, attributes, content] of scripts) {
        expect(content.trim()).toBe('');
        const src = /\bsrc="([^"]+)"/.exec(attributes)?.[1];
        expect(src).toBeDefined();
        const url = new URL(src!, `${t.baseUrl}/docs/`);
        expect(url.origin).toBe(t.baseUrl);
        const script = await t.http.get(url.pathname);
        expect([url.pathname, script.status]).toEqual([url.pathname, 200]);
        expect(script.headers['content-type']).toMatch(/javascript/);
      }
      expect(html).not.toMatch(/\son[a-z]+\s*=/i);

      // Styles: same-origin stylesheets, inline <style> blocks and style attributes ('unsafe-inline').
      for (const [, href] of html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*href="([^"]+)"/gi)) {
        const url = new URL(href, `${t.baseUrl}/docs/`);
        expect(url.origin).toBe(t.baseUrl);
        expect((await t.http.get(url.pathname)).status).toBe(200);
      }
      expect(html).toMatch(/<style>/);
      expect(policy['style-src']).toEqual(["'self'", "'unsafe-inline'"]);
      // The document the UI renders is embedded in its init script, fetched from 'self'.
      const init = await t.http.get('/docs/swagger-ui-init.js');
      expect(init.text).toMatch(/"openapi":\s*"3/);
      expect(policy['connect-src']).toEqual(["'self'"]);
    });
  });
});

describe('PUBLIC_BASE_URL', () => {
  const warnings = () =>
    warn.mock.calls.map(([message]) => String(message)).filter((message) => message.includes('PUBLIC_BASE_URL is not set'));
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn');
  });
  afterEach(() => jest.restoreAllMocks());

  it.each([
    [{ NODE_ENV: 'production', PUBLIC_BASE_URL: '' }, 1],
    [{ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://analytics.example.com' }, 0],
    [{ NODE_ENV: 'development', PUBLIC_BASE_URL: '' }, 0],
  ])('is warned about at start when unset in production (%j)', async (env, expected) => {
    // The app as production builds it, not started: the warning comes while it is created.
    const app = await createHttpApp(loadConfig({ ...process.env, SECRETS_KEY: TEST_SECRETS_KEY, ROLE: 'api', ...env }), ['error']);
    try {
      expect(warnings()).toHaveLength(expected);
      if (expected) {
        expect(warnings()[0]).toMatch(/Location headers .* Host header/);
      }
    } finally {
      await app.close();
    }
  });
});
