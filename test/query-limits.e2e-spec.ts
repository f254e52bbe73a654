import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { STATEMENT_TIMEOUT_MESSAGE } from '../src/common/statement-timeout';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, waitForExport } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp, testKeyPrefix } from './support/test-app';

/**
 * What one authenticated query may cost: caps on the query document (422 before any SQL) and a
 * statement timeout on every API statement (503 with Retry-After), while the export worker's long
 * reads keep a timeout of their own.
 */

const BUCKET = 'limits';

/** `{"p1": {"neq": 1}, "p2": {"neq": 2}, …}`: n conditions on properties no event has, so every event matches. */
const neqFilter = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { neq: i }]));

/** n `neq` conditions as relaxed JSON (unquoted paths `p0`, `p1`, … `prr`, legacy `ne`): 1,000 of them in 11 KB. */
const neqFilterText = (n: number) => `{${Array.from({ length: n }, (_, i) => `p${i.toString(36)}:{ne:1}`).join(',')}}`;

/**
 * n conditions in few characters of relaxed JSON: eight short operators on each path (`ne` and
 * `neq` count twice, as the parser reads them), so 34,000 conditions fit in a 256 KB body.
 */
function denseFilterText(n: number): string {
  const operators = ['eq:1', 'ne:1', 'gt:1', 'lt:1', 'gte:1', 'lte:1', 'neq:2', 'in:[1]'];
  const paths: string[] = [];
  for (let i = 0; i * operators.length < n; i++) {
    paths.push(`k${i.toString(36)}:{${operators.slice(0, Math.min(operators.length, n - i * operators.length)).join(',')}}`);
  }
  return `{${paths.join(',')}}`;
}

const conditionsError = (max: number, got: number) => ({
  errors: [
    {
      field: 'filter',
      description: `A filter can have at most ${max.toLocaleString('en-US')} conditions (property paths × operators); this one has ${got.toLocaleString('en-US')}.`,
    },
  ],
});

describe('query limits (QUERY_MAX_FILTER_CONDITIONS, QUERY_MAX_IN_VALUES, QUERY_MAX_DOCUMENT_CHARS)', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    t = await startTestApp({ S3_ALLOWED_ENDPOINTS: s3.endpoint });
    project = await t.createProject();
    const res = await t.http
      .post('/events')
      .set(auth(project, 'push'))
      .send({ items: [{ price: 5 }, { price: 500 }] });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  const s3Body = (query: unknown) => ({
    query,
    s3Path: `${s3.endpoint}/${BUCKET}/`,
    s3AccessKeyId: s3.accessKeyId,
    s3SecretAccessKey: s3.secretAccessKey,
  });
  /** The same filter through the query, the small export and the S3 export (object body). */
  const everywhere = (app: TestApp, filter: unknown): Promise<Response[]> =>
    Promise.all([
      app.http
        .get('/events/items')
        .set(auth(project, 'query'))
        .query({ query: JSON.stringify({ select: { n: 'count' }, filter }) }),
      app.http
        .get('/events/items/export')
        .set(auth(project, 'query'))
        .query({ query: JSON.stringify({ filter }) }),
      app.http.post('/events/items/export').set(auth(project, 'query')).send(s3Body({ filter })),
    ]);

  it('refuses the 1,000-condition filter (a 12 KB URL that took 27 s) with 422 on every endpoint', async () => {
    const filter = neqFilterText(1_000);
    expect(filter.length).toBeLessThan(16_384); // within the document cap: the condition cap refuses it
    // encodeURI leaves ':' and ',' as they are, so the URL stays within Node's 16 KB for a request head.
    const responses = await Promise.all([
      t.http.get(`/events/items?query=${encodeURI(`{select:{n:'count'},filter:${filter}}`)}`).set(auth(project, 'query')),
      t.http.get(`/events/items/export?query=${encodeURI(`{filter:${filter}}`)}`).set(auth(project, 'query')),
      t.http
        .post('/events/items/export')
        .set(auth(project, 'query'))
        .send(s3Body(`{filter:${filter}}`)),
    ]);
    for (const res of responses) {
      expect([res.status, res.body]).toEqual([422, conditionsError(100, 1_000)]);
    }
    // 100 is allowed.
    const res = await t.http
      .get('/events/items')
      .set(auth(project, 'query'))
      .query({ query: JSON.stringify({ select: { n: 'count' }, filter: neqFilter(100) }) });
    expect([res.status, res.body.results]).toEqual([200, [{ n: 2, _count: 2 }]]);
  });

  it("refuses the 34,000-condition filter (past PostgreSQL's 32,767 bind parameters: a 500 before) with 422", async () => {
    const body = s3Body(`{filter:${denseFilterText(34_000)}}`);
    expect(JSON.stringify(body).length).toBeLessThan(256 * 1024);
    // By default the document is too long…
    const res = await t.http.post('/events/items/export').set(auth(project, 'query')).send(body);
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      {
        field: 'query',
        description: expect.stringMatching(/^The query document is [\d,]+ characters long; at most 16,384 are allowed\.$/),
      },
    ]);
    // …and with every cap at its highest configurable value, it still has too many conditions.
    const wide = await startTestApp({
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      QUERY_MAX_FILTER_CONDITIONS: '10000',
      QUERY_MAX_DOCUMENT_CHARS: String(256 * 1024),
    });
    try {
      const again = await wide.http.post('/events/items/export').set(auth(project, 'query')).send(body);
      expect([again.status, again.body]).toEqual([422, conditionsError(10_000, 34_000)]);
    } finally {
      await wide.close();
    }
  });

  it('runs a filter at the highest configurable cap (10,000 conditions) end to end: no bind-parameter overflow', async () => {
    const wide = await startTestApp({
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      QUERY_MAX_FILTER_CONDITIONS: '10000',
      QUERY_MAX_DOCUMENT_CHARS: String(256 * 1024),
      QUERY_STATEMENT_TIMEOUT_MS: '60000',
    });
    try {
      // 9,999 conditions every event passes, and one that keeps only price 500.
      const filter = { ...neqFilter(9_999), price: { gt: 100 } };
      const created = await wide.http.post('/events/items/export').set(auth(project, 'query')).send(s3Body({ filter }));
      expect(created.status).toBe(201);
      const { final } = await waitForExport(wide.http, pathOf(created.headers.location), auth(project, 'query'));
      expect(final.status).toBe('Complete');
      const lines = (await s3.getObject(BUCKET, final.filename)).toString('utf8').trimEnd().split('\n');
      expect(lines.map((line) => JSON.parse(line).price)).toEqual([500]);
    } finally {
      await wide.close();
    }
  });

  it('refuses an in list over 1,000 values with 422 naming it, on every endpoint', async () => {
    const values = Array.from({ length: 1_001 }, (_, i) => i);
    for (const [filter, field] of [
      [{ price: { in: values } }, 'filter.price.in'],
      [{ price: values }, 'filter.price'],
    ] as const) {
      for (const res of await everywhere(t, filter)) {
        expect([res.status, res.body]).toEqual([
          422,
          { errors: [{ field, description: 'An in list can have at most 1,000 values; this one has 1,001.' }] },
        ]);
      }
    }
    const res = await t.http
      .get('/events/items')
      .set(auth(project, 'query'))
      .query({ query: JSON.stringify({ select: { n: 'count' }, filter: { price: values.slice(0, 1_000) } }) });
    expect([res.status, res.body.results]).toEqual([200, [{ n: 2, _count: 2 }]]);
  });

  it("refuses a query document over the cap with 422: the URL parameter, and the S3 body's query as object or string", async () => {
    const doc = { filter: { note: 'x'.repeat(16_384) } };
    const text = JSON.stringify(doc);
    const tooLong = {
      errors: [
        {
          field: 'query',
          description: `The query document is ${text.length.toLocaleString('en-US')} characters long; at most 16,384 are allowed.`,
        },
      ],
    };
    for (const query of [doc, text]) {
      const res = await t.http.post('/events/items/export').set(auth(project, 'query')).send(s3Body(query));
      expect([res.status, res.body]).toEqual([422, tooLong]);
    }
    // A URL over 16 KB never reaches the app (Node answers 431), so the parameter is tested with a smaller cap.
    const small = await startTestApp({ QUERY_MAX_DOCUMENT_CHARS: '4096' });
    try {
      const filter = { note: 'x'.repeat(4_096) };
      const expected = (query: string) => ({
        errors: [
          {
            field: 'query',
            description: `The query document is ${query.length.toLocaleString('en-US')} characters long; at most 4,096 are allowed.`,
          },
        ],
      });
      const q = JSON.stringify({ select: { n: 'count' }, filter });
      const res = await small.http.get('/events/items').set(auth(project, 'query')).query({ query: q });
      expect([res.status, res.body]).toEqual([422, expected(q)]);
      const e = JSON.stringify({ filter });
      const exp = await small.http.get('/events/items/export').set(auth(project, 'query')).query({ query: e });
      expect([exp.status, exp.body]).toEqual([422, expected(e)]);
    } finally {
      await small.close();
    }
  });

  it('still caps select aliases (100) and groupBy properties (20)', async () => {
    const query = (doc: unknown) =>
      t.http
        .get('/events/items')
        .set(auth(project, 'query'))
        .query({ query: JSON.stringify(doc) });
    const select = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 'count']));
    const tooManyAliases = await query({ select });
    expect([tooManyAliases.status, tooManyAliases.body]).toEqual([
      422,
      { errors: [{ field: 'select', description: 'A select can have at most 100 aliases.' }] },
    ]);
    const tooManyGroups = await query({ select: { n: 'count' }, groupBy: Array.from({ length: 21 }, (_, i) => `g${i}`) });
    expect([tooManyGroups.status, tooManyGroups.body]).toEqual([
      422,
      { errors: [{ field: 'groupBy', description: 'A query can group by at most 20 properties.' }] },
    ]);
  });
});

describe('statement timeouts (QUERY_STATEMENT_TIMEOUT_MS, EXPORT_STATEMENT_TIMEOUT_MS)', () => {
  let s3: TestS3Server;
  /** Pushes and creates exports without a timeout; runs no worker (role api). */
  let loader: TestApp;
  /** The API under a 100 ms statement timeout; its worker (role all) takes the loader's export jobs. */
  let tight: TestApp;
  let project: CreatedProject;
  const EVENTS = 10_000;
  // 100 conditions (the cap) over 10,000 events whose properties (3.2 KB of random hex) PostgreSQL stores
  // out of line, so each condition fetches them again: about 1.6 s of work here, far past 100 ms, where
  // a key lookup takes about 1 ms.
  const slowFilter = neqFilter(100);

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    const queue = testKeyPrefix('timeouts');
    loader = await startTestApp({ ROLE: 'api', QUEUE_PREFIX: queue, S3_ALLOWED_ENDPOINTS: s3.endpoint, QUERY_STATEMENT_TIMEOUT_MS: '0' });
    tight = await startTestApp({ QUEUE_PREFIX: queue, S3_ALLOWED_ENDPOINTS: s3.endpoint, QUERY_STATEMENT_TIMEOUT_MS: '100' });
    project = await loader.createProject();
    for (let i = 0; i < EVENTS; i += 2500) {
      const events = Array.from({ length: 2500 }, (_, j) => ({ n: i + j, blob: randomBytes(1600).toString('hex') }));
      const res = await loader.http.post('/events').set(auth(project, 'push')).send({ slow: events });
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => {
    await tight?.close();
    await loader?.close();
    await s3?.close();
  });

  const s3Body = (filter: unknown) => ({
    query: { filter },
    s3Path: `${s3.endpoint}/${BUCKET}/`,
    s3AccessKeyId: s3.accessKeyId,
    s3SecretAccessKey: s3.secretAccessKey,
  });
  const expectTimeout = (res: Response) => {
    expect([res.status, res.body, res.headers['retry-after']]).toEqual([503, { errorMessage: STATEMENT_TIMEOUT_MESSAGE }, '5']);
  };

  it("sets the timeout on every connection of the API's pool", async () => {
    expect(await tight.app.get(DataSource).query('SHOW statement_timeout')).toEqual([{ statement_timeout: '100ms' }]);
  });

  it('answers a query past the timeout with 503, Retry-After and what to narrow (not a 500)', async () => {
    const res = await tight.http
      .get('/events/slow')
      .set(auth(project, 'query'))
      .query({ query: JSON.stringify({ select: { n: 'count' }, filter: slowFilter }) });
    expectTimeout(res);
    expect(STATEMENT_TIMEOUT_MESSAGE).toContain('narrow the timeframe or the filter, or group by fewer properties');
    // The same query answers without the timeout.
    const ok = await loader.http
      .get('/events/slow')
      .set(auth(project, 'query'))
      .query({ query: JSON.stringify({ select: { n: 'count' }, filter: slowFilter }) });
    expect([ok.status, ok.body.results]).toEqual([200, [{ n: EVENTS, _count: EVENTS }]]);
  });

  it("answers a small export and an S3 export's count past the timeout with 503 too", async () => {
    expectTimeout(
      await tight.http
        .get('/events/slow/export')
        .set(auth(project, 'query'))
        .query({ query: JSON.stringify({ filter: slowFilter }) }),
    );
    expectTimeout(await tight.http.post('/events/slow/export').set(auth(project, 'query')).send(s3Body(slowFilter)));
  });

  it('lets the export worker read past the API timeout (its own, EXPORT_STATEMENT_TIMEOUT_MS), and fails an export past that one', async () => {
    // 30 conditions keep the export short, and its size pass still takes several times 100 ms.
    const created = await loader.http
      .post('/events/slow/export')
      .set(auth(project, 'query'))
      .send(s3Body(neqFilter(30)));
    expect(created.status).toBe(201);
    const { final } = await waitForExport(loader.http, pathOf(created.headers.location), auth(project, 'query'), 120_000);
    expect([final.status, final.error]).toEqual(['Complete', null]);
    const lines = (await s3.getObject(BUCKET, final.filename)).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(EVENTS);

    const queue = testKeyPrefix('timeouts-worker');
    const api = await startTestApp({
      ROLE: 'api',
      QUEUE_PREFIX: queue,
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      QUERY_STATEMENT_TIMEOUT_MS: '0',
    });
    const worker = await startTestApp({ QUEUE_PREFIX: queue, S3_ALLOWED_ENDPOINTS: s3.endpoint, EXPORT_STATEMENT_TIMEOUT_MS: '10' });
    try {
      const cut = await api.http.post('/events/slow/export').set(auth(project, 'query')).send(s3Body(slowFilter));
      expect(cut.status).toBe(201);
      const outcome = await waitForExport(api.http, pathOf(cut.headers.location), auth(project, 'query'), 120_000);
      expect([outcome.final.status, outcome.final.error]).toEqual([
        'Failed',
        'Reading the events took longer than the export statement timeout (EXPORT_STATEMENT_TIMEOUT_MS) allows. ' +
          'Narrow the timeframe or the filter and export in several parts.',
      ]);
    } finally {
      await worker.close();
      await api.close();
    }
  });
});
