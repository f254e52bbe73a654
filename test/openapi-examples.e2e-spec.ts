import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Response } from 'supertest';
import { INTERNAL_ERROR_MESSAGE } from '../src/common/connect-error.filter';
import { STATEMENT_TIMEOUT_MESSAGE } from '../src/common/statement-timeout';
import type { CreatedProject } from '../src/projects/projects.service';
import { bulkLoad } from './support/bulk-load';
import { startTestRedis, TestRedis } from './support/redis-server';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TestApp, testKeyPrefix } from './support/test-app';

/**
 * Every error example of the committed openapi.json (what Swagger UI at /docs shows under each
 * status) is a body the API really answers: each named example has a trigger below that makes the
 * running app answer that status, on that operation, and the answer's body must equal the example
 * (numbers that come from configuration, and ids the test cannot choose, aside). An example without
 * a trigger fails the test, so a new one is checked too.
 */

interface Operation {
  method: 'get' | 'post' | 'delete';
  /** The OpenAPI path, e.g. `/events/{collection}`. */
  path: string;
  /** The path with the documented parameter examples filled in. */
  url: string;
  /** Which credentials the operation takes. */
  auth: 'project' | 'admin';
  /** Whether it reads a JSON body (has a requestBody). */
  body: boolean;
}

interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

interface DocumentedExample {
  op: Operation;
  status: string;
  name: string;
  value: unknown;
}

type OpenApi = {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: unknown;
        security?: Array<Record<string, string[]>>;
        responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: unknown }>; example?: unknown }> }>;
      }
    >
  >;
};

const doc = JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8')) as OpenApi;

/** The path parameter examples of openapi.json, which the 404/409 examples name. */
const COLLECTION = 'purchases';
const ID = '55b80dd4eb6742481c62c05e';
const PROJECT_ID = '559de2011f2ddd1860bd29fb';

function operations(): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method as Operation['method'],
      path,
      url: path.replace('{collection}', COLLECTION).replace('{id}', ID).replace('{projectId}', PROJECT_ID),
      auth: (operation.security ?? []).some((s) => 'adminToken' in s) ? ('admin' as const) : ('project' as const),
      body: operation.requestBody !== undefined,
    })),
  );
}

function documentedExamples(): DocumentedExample[] {
  return operations().flatMap((op) =>
    Object.entries(doc.paths[op.path][op.method].responses)
      .filter(([status]) => Number(status) >= 400)
      .flatMap(([status, response]) =>
        Object.entries(response.content?.['application/json']?.examples ?? {}).map(([name, example]) => ({
          op,
          status,
          name,
          value: example.value,
        })),
      ),
  );
}

/** Examples whose numbers are configuration (limits, windows) that the test lowers to reach them. */
const CONFIGURED_NUMBERS = new Set([
  'tooManyFailedAuthentications',
  'tooManyPushes',
  'tooManyQueries',
  'tooManySmallExports',
  'tooManyS3Exports',
  'tooManyPendingExports',
  'tooManyPendingImports',
]);

/** Examples that name an id the API generates (the example shows the documented id). */
const GENERATED_IDS = new Set(['exportFinished', 'importFinished']);

/**
 * Examples whose case is too costly to reach in this file, each with the test that asserts the same
 * body from the running app (the example's message must appear there verbatim, or as the constant it imports).
 */
const VERIFIED_ELSEWHERE: Record<string, { file: string; text: string }> = {
  tooManyEventsToExport: { file: 'test/s3-export-limit.e2e-spec.ts', text: '' }, // 1,000,001 events
  streamsBusy: { file: 'test/slow-clients.e2e-spec.ts', text: '' }, // every stream connection held by clients that stopped reading
  statementTimeout: { file: 'test/query-limits.e2e-spec.ts', text: 'STATEMENT_TIMEOUT_MESSAGE' }, // 1.6 s of work on 10,000 big events
};

function normalise(name: string, value: unknown, actualBody?: unknown): unknown {
  let text = JSON.stringify(value);
  if (GENERATED_IDS.has(name) && actualBody !== undefined) {
    const generated = /'([0-9a-f]{24})'/.exec(JSON.stringify(actualBody))?.[1];
    if (generated) text = text.replaceAll(generated, ID);
  }
  if (CONFIGURED_NUMBERS.has(name)) text = text.replace(/\d+/g, 'N');
  return JSON.parse(text);
}

function toAnswer(res: Response): Answer {
  return { status: res.status, body: res.body, headers: res.headers };
}

/** Sends headers with a declared Content-Length and one byte of body, and reads the answer (sent before the body is read). */
function declaredTooLarge(baseUrl: string, op: Operation, headers: Record<string, string>, length: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${op.url}`, {
      method: op.method.toUpperCase(),
      headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(length) },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers }));
    });
    req.on('error', reject);
    req.write('{');
  });
}

/** The largest body of each operation that takes one (src/common/json-body.ts). */
function bodyLimit(op: Operation): number {
  if (op.path === '/events') return 32 * 1024 * 1024;
  if (op.path === '/events/{collection}') return 1024 * 1024;
  return 256 * 1024;
}

describe('error examples of openapi.json are real answers', () => {
  /** Default limits (raised for failed authentications, which the 401 triggers spend), API only: no job runs. */
  let t: TestApp;
  /** Every per-project rate limit at 1 request per window. */
  let limited: TestApp;
  /** One failed authentication per address per window. */
  let authLimited: TestApp;
  /** One unfinished export and one unfinished import per project. */
  let capped: TestApp;
  /** No ADMIN_TOKEN. */
  let noAdmin: TestApp;
  /** PostgreSQL behind a proxy the test cuts. */
  let pgProxy: TcpProxy;
  let pgDown: TestApp;
  /** Redis of its own, which the test pauses. */
  let redis: TestRedis;
  let redisDown: TestApp;
  let project: CreatedProject;
  let pgDownProject: CreatedProject;
  const prefix = () => testKeyPrefix('examples');
  const s3Body = { s3Path: 's3://examples-bucket/exports/', s3AccessKeyId: 'AKIAEXAMPLE', s3SecretAccessKey: 'example-secret' };
  const importBody = {
    collection: COLLECTION,
    s3Path: 's3://examples-bucket/events.ndjson',
    s3AccessKeyId: 'AKIAEXAMPLE',
    s3SecretAccessKey: 'x',
  };

  beforeAll(async () => {
    const api = { ROLE: 'api', RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '100000', RATE_LIMIT_AUTH_FAILURES_PER_KEY: '100000' };
    t = await startTestApp({ ...api, RATE_LIMIT_PREFIX: prefix() });
    limited = await startTestApp({
      ...api,
      RATE_LIMIT_PREFIX: prefix(),
      RATE_LIMIT_PUSHES: '1',
      RATE_LIMIT_QUERIES: '1',
      RATE_LIMIT_SMALL_EXPORTS: '1',
      RATE_LIMIT_S3_EXPORTS: '1',
    });
    authLimited = await startTestApp({ ROLE: 'api', RATE_LIMIT_PREFIX: prefix(), RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '1' });
    capped = await startTestApp({
      ...api,
      RATE_LIMIT_PREFIX: prefix(),
      EXPORT_MAX_PENDING_PER_PROJECT: '1',
      IMPORT_MAX_PENDING_PER_PROJECT: '1',
    });
    noAdmin = await startTestApp({ ...api, RATE_LIMIT_PREFIX: prefix(), ADMIN_TOKEN: '' });
    const url = new URL(process.env.DATABASE_URL!);
    pgProxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(pgProxy.port);
    pgDown = await startTestApp({ ...api, RATE_LIMIT_PREFIX: prefix(), DATABASE_URL: url.toString() });
    pgDownProject = await pgDown.createProject();
    await pgProxy.cut();
    redis = await startTestRedis();
    redisDown = await startTestApp({ ...api, REDIS_URL: redis.url, RATE_LIMIT_PREFIX: prefix() });
    project = await t.createProject();
    // 10,001 events with distinct `n`, for the 413s of a query grouped by `n` and of a small export.
    await bulkLoad(
      t.config.database.url,
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
         SELECT $1, 'many', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second', jsonb_build_object('n', n)
           FROM generate_series(1, 10001) AS n`,
      [project.projectId],
    );
  }, 120_000);

  afterAll(async () => {
    for (const app of [t, limited, authLimited, capped, noAdmin, redisDown]) await app?.close();
    await pgProxy?.restore();
    await pgDown?.close();
    await pgProxy?.close();
    await redis?.kill();
  });

  /** `op` on `app` with `headers` (and, for operations with a body, `body`). */
  function send(app: TestApp, op: Operation, headers: Record<string, string>, body?: unknown, url = op.url): Promise<Answer> {
    let req = app.http[op.method](url).set(headers);
    if (body !== undefined) req = req.send(body as object);
    return req.then(toAnswer);
  }

  /** Credentials that pass the operation's guard. */
  const allowed = (op: Operation, p: CreatedProject = project) =>
    op.auth === 'admin' ? { 'X-Admin-Token': TEST_ADMIN_TOKEN } : auth(p, 'master');

  /** A body the operation accepts (or at least reads). */
  const validBody = (op: Operation): unknown => {
    if (!op.body) return undefined;
    if (op.path === '/events') return { [COLLECTION]: [{ n: 1 }] };
    if (op.path === '/events/{collection}/export') return s3Body;
    if (op.path === '/event-import') return importBody;
    if (op.path === '/projects') return { name: 'examples' };
    return { n: 1 };
  };

  const sendRaw = (app: TestApp, op: Operation, headers: Record<string, string>, raw: string | Buffer): Promise<Answer> =>
    app.http[op.method](op.url)
      .set({ 'Content-Type': 'application/json', ...headers })
      .send(raw)
      .then(toAnswer);

  /** Pushes one more request of the operation (which spends the project's limit of 1), then the one answered 429. */
  async function twice(op: Operation): Promise<Answer> {
    const fresh = await limited.createProject();
    await send(limited, op, allowed(op, fresh), validBody(op));
    return send(limited, op, allowed(op, fresh), validBody(op));
  }

  async function cancelledTwice(kind: 'export' | 'import'): Promise<Answer> {
    const created =
      kind === 'export'
        ? await t.http.post(`/events/${COLLECTION}/export`).set(auth(project, 'query')).send(s3Body)
        : await t.http.post('/event-import').set(auth(project, 'push')).send(importBody);
    expect(created.status).toBe(201);
    const url = kind === 'export' ? `/events/${COLLECTION}/export/${created.body.id ?? idOf(created)}` : `/event-import/${idOf(created)}`;
    expect((await t.http.delete(url).set(auth(project, 'master'))).status).toBe(200);
    return t.http.delete(url).set(auth(project, 'master')).then(toAnswer);
  }
  const idOf = (res: Response): string => new URL(res.headers.location).pathname.split('/').pop()!;

  const query = (op: Operation, q: unknown, collection = COLLECTION) =>
    t.http
      .get(op.url.replace(COLLECTION, collection))
      .set(auth(project, 'master'))
      .query({ query: JSON.stringify(q) })
      .then(toAnswer);

  const TRIGGERS: Record<string, (op: Operation) => Promise<Answer>> = {
    // 400
    invalidJson: (op) => sendRaw(t, op, allowed(op), '{"name": '),
    tooDeep: (op) => sendRaw(t, op, allowed(op), '['.repeat(101) + ']'.repeat(101)),
    notUtf8: (op) => sendRaw(t, op, { ...allowed(op), 'Content-Type': 'application/json; charset=latin1' }, '{}'),
    eventNotObject: (op) => send(t, op, allowed(op), [1]),
    reservedTp: (op) => send(t, op, allowed(op), { tp_x: 1 }),
    reservedId: (op) => send(t, op, allowed(op), { _id: 1 }),
    batchNotObject: (op) => send(t, op, allowed(op), []),
    batchNotArray: (op) => send(t, op, allowed(op), { [COLLECTION]: {} }),
    // 401
    missingCredentials: (op) => send(t, op, {}, validBody(op)),
    wrongCredentials: (op) =>
      send(t, op, { 'X-Project-Id': project.projectId, 'X-Api-Key': randomBytes(16).toString('hex') }, validBody(op)),
    invalidFilteredKey: (op) =>
      send(t, op, { 'X-Project-Id': project.projectId, 'X-Api-Key': `${'0'.repeat(32)}-${'AB'.repeat(32)}` }, validBody(op)),
    wrongAdminToken: (op) => send(t, op, { 'X-Admin-Token': 'wrong-token-0123456789' }, validBody(op)),
    // 403
    cannotPush: (op) => send(t, op, auth(project, 'query'), validBody(op)),
    cannotQuery: (op) => send(t, op, auth(project, 'push'), validBody(op)),
    notMasterKey: (op) => send(t, op, auth(project, 'pushQuery'), validBody(op)),
    adminDisabled: (op) => send(noAdmin, op, { 'X-Admin-Token': TEST_ADMIN_TOKEN }, validBody(op)),
    // 404
    exportNotFound: (op) => send(t, op, allowed(op)),
    importNotFound: (op) => send(t, op, allowed(op)),
    collectionNotFound: (op) => send(t, op, allowed(op)),
    projectNotFound: (op) => send(t, op, allowed(op)),
    // 409
    exportFinished: () => cancelledTwice('export'),
    importFinished: () => cancelledTwice('import'),
    // 413
    bodyTooLarge: (op) => declaredTooLarge(t.baseUrl, op, allowed(op), bodyLimit(op) + 1),
    eventTooLarge: (op) => send(t, op, allowed(op), { blob: 'x'.repeat(70_000) }),
    batchTooLarge: (op) => send(t, op, allowed(op), { [COLLECTION]: Array.from({ length: 5001 }, () => ({})) }),
    tooManyResults: (op) => query(op, { select: { c: 'count' }, groupBy: ['n'] }, 'many'),
    tooManyBuckets: (op) =>
      query(op, {
        select: { c: 'count' },
        interval: 'minutely',
        timeframe: { start: '2000-01-01T00:00:00Z', end: '2020-01-01T00:00:00Z' },
      }),
    tooManyEventsToStream: (op) => query(op, {}, 'many'),
    // 415
    compressedBody: (op) =>
      t.http[op.method](op.url)
        .set({ ...allowed(op), 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' })
        .send(gzipSync(JSON.stringify(validBody(op))))
        .then(toAnswer),
    // 422
    invalidCollection: (op) => send(t, op, allowed(op), validBody(op), op.url.replace(COLLECTION, 'a%2Fb')),
    invalidEvent: (op) => send(t, op, allowed(op), { id: { a: 1 }, timestamp: 'yesterday', 'a.b': 1 }),
    invalidQueryJson: (op) => t.http.get(op.url).set(allowed(op)).query({ query: 'not json' }).then(toAnswer),
    invalidQuery: (op) => query(op, { select: { total: { sum: 5 } }, timeframe: 'last_fortnight' }),
    invalidSmallExportQuery: (op) => query(op, { select: { n: 'count' }, timeframe: 'today' }),
    invalidS3Export: (op) => send(t, op, allowed(op), { ...s3Body, s3Path: 'ftp://examples-bucket/exports/' }),
    invalidExportListLimit: (op) => t.http.get(op.url).set(allowed(op)).query({ limit: '0' }).then(toAnswer),
    invalidImport: (op) => send(t, op, allowed(op), { ...importBody, s3Path: 's3://examples-bucket/' }),
    invalidProjectName: (op) => send(t, op, allowed(op), {}),
    invalidProjectListLimit: (op) => t.http.get(op.url).set(allowed(op)).query({ limit: '0' }).then(toAnswer),
    // 429
    tooManyFailedAuthentications: async (op) => {
      const wrong: Record<string, string> =
        op.auth === 'admin' ? { 'X-Admin-Token': 'wrong-token-0123456789' } : { 'X-Project-Id': PROJECT_ID, 'X-Api-Key': 'wrong' };
      await send(authLimited, op, wrong, validBody(op));
      return send(authLimited, op, wrong, validBody(op));
    },
    tooManyPushes: twice,
    tooManyQueries: twice,
    tooManySmallExports: twice,
    tooManyS3Exports: twice,
    tooManyPendingExports: async (op) => {
      const fresh = await capped.createProject();
      expect((await send(capped, op, auth(fresh, 'query'), s3Body)).status).toBe(201);
      return send(capped, op, auth(fresh, 'query'), s3Body);
    },
    tooManyPendingImports: async (op) => {
      const fresh = await capped.createProject();
      expect((await send(capped, op, auth(fresh, 'push'), importBody)).status).toBe(201);
      return send(capped, op, auth(fresh, 'push'), importBody);
    },
    // 503
    dependencyUnavailable: (op) => send(pgDown, op, allowed(op, pgDownProject), validBody(op)),
    unhealthyPostgres: (op) => send(pgDown, op, {}),
    unhealthyRedis: async (op) => {
      redis.pause();
      try {
        return await send(redisDown, op, {});
      } finally {
        redis.resume();
      }
    },
    notReadyPostgres: (op) => send(pgDown, op, {}),
    notReadyRedis: async (op) => {
      redis.pause();
      try {
        return await send(redisDown, op, {});
      } finally {
        redis.resume();
      }
    },
  };

  it('has a trigger (or a test elsewhere) for every error example, and every example is used', () => {
    const names = new Set(documentedExamples().map((e) => e.name));
    const missing = [...names].filter((n) => !(n in TRIGGERS) && !(n in VERIFIED_ELSEWHERE));
    expect(missing).toEqual([]);
  });

  it('no error example but a 500 says "An error occurred while processing your request", nor does any schema', () => {
    for (const e of documentedExamples()) {
      if (e.status !== '500') expect(JSON.stringify(e.value)).not.toContain(INTERNAL_ERROR_MESSAGE);
    }
    expect(JSON.stringify((doc as unknown as { components: unknown }).components)).not.toContain(INTERNAL_ERROR_MESSAGE);
  });

  it('every operation and every response has a description, and every error response at least one example', () => {
    for (const op of operations()) {
      const { description } = doc.paths[op.path][op.method] as { description?: string };
      expect({ op: `${op.method} ${op.path}`, description }).toEqual({
        op: `${op.method} ${op.path}`,
        description: expect.stringMatching(/\S/),
      });
      for (const [status, response] of Object.entries(doc.paths[op.path][op.method].responses)) {
        expect({ op: `${op.method} ${op.path}`, status, description: (response as { description: string }).description }).toEqual({
          op: `${op.method} ${op.path}`,
          status,
          description: expect.stringMatching(/\S/),
        });
        if (Number(status) >= 400) {
          expect({
            op: `${op.method} ${op.path}`,
            status,
            examples: Object.keys(response.content?.['application/json']?.examples ?? {}),
          }).toEqual({
            op: `${op.method} ${op.path}`,
            status,
            examples: expect.arrayContaining([expect.any(String)]),
          });
        }
      }
    }
  });

  it('examples verified by other tests appear there verbatim', () => {
    for (const [name, { file, text }] of Object.entries(VERIFIED_ELSEWHERE)) {
      const example = documentedExamples().find((e) => e.name === name);
      expect(example).toBeDefined();
      const source = readFileSync(join(__dirname, '..', file), 'utf8');
      const message = (example!.value as { errorMessage: string }).errorMessage;
      if (text === 'STATEMENT_TIMEOUT_MESSAGE') {
        expect(message).toBe(STATEMENT_TIMEOUT_MESSAGE);
        expect(source).toContain('{ errorMessage: STATEMENT_TIMEOUT_MESSAGE }');
      } else {
        expect(source.replace(/'\s*\+\s*'/g, '')).toContain(message);
      }
    }
  });

  it('each error example is the body the running app answers, on every operation that shows it', async () => {
    const mismatches: unknown[] = [];
    for (const e of documentedExamples()) {
      if (e.name in VERIFIED_ELSEWHERE) continue;
      const trigger = TRIGGERS[e.name];
      if (!trigger) {
        mismatches.push({ op: `${e.op.method} ${e.op.path}`, name: e.name, problem: 'no trigger' });
        continue;
      }
      const answer = await trigger(e.op);
      const got = { status: answer.status, body: normalise(e.name, answer.body, answer.body) };
      const want = { status: Number(e.status), body: normalise(e.name, e.value) };
      if (!isDeepStrictEqual(got, want)) {
        mismatches.push({ op: `${e.op.method} ${e.op.path}`, name: e.name, want, got: { status: answer.status, body: answer.body } });
        continue;
      }
      if (answer.status === 429 || answer.status === 503) {
        if (!/^\d+$/.test(String(answer.headers['retry-after']))) {
          mismatches.push({ op: `${e.op.method} ${e.op.path}`, name: e.name, problem: 'no Retry-After' });
        }
      }
    }
    if (process.env.PRINT_EXAMPLE_MISMATCHES) console.log(mismatches.map((m) => JSON.stringify(m)).join('\n'));
    expect(mismatches).toEqual([]);
  }, 120_000);
});
