import { createHash } from 'node:crypto';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, waitForExport } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';

/**
 * Numbers round-trip with every digit (docs/api.md, "Pushing events": numbers): jsonb stores `numeric`, and the API
 * never reads a number a double would change into a double. Bodies and answers are compared as
 * text, since JSON.parse in the test would itself round them.
 */
describe('exact numbers: push, export, filter and aggregate with every digit', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const BUCKET = 'numbers';

  /** The values under test, as JSON text, and how PostgreSQL writes them back (jsonb keeps `1.50`). */
  const BIG = '12345678901234567890';
  const BIG_ROUNDED = '12345678901234567000'; // what JSON.parse + JSON.stringify make of BIG
  const TWO_53_PLUS_1 = '9007199254740993';
  const NEG_DECIMAL = '-0.1000000000000000055511151231257827';
  const LONG_DECIMAL = '3.14159265358979323846264338327950288419716939937510582097494459';
  const TRAILING_ZERO = '1.50';
  const properties = `"order_id": ${BIG}, "n": ${TWO_53_PLUS_1}, "neg": ${NEG_DECIMAL}, "pi": ${LONG_DECIMAL}, "price": ${TRAILING_ZERO}`;
  /** The export line of an event with `properties` (jsonb orders keys by length, then bytes). */
  const exportedLine = (id: string, timestamp: string) =>
    `{"id": "${id}", "timestamp": "${timestamp}", "n": ${TWO_53_PLUS_1}, "pi": ${LONG_DECIMAL}, "neg": ${NEG_DECIMAL}, ` +
    `"price": ${TRAILING_ZERO}, "order_id": ${BIG}}`;

  beforeAll(async () => {
    s3 = await startS3Server({
      buckets: [BUCKET],
      accessKeyId: 'AKIANUMBERSTEST0001',
      secretAccessKey: 'numbers-test-secret-0123456789abcdef',
    });
    t = await startTestApp({ S3_ALLOWED_ENDPOINTS: s3.endpoint });
    project = await t.createProject();
  });
  afterAll(async () => {
    await t.close();
    await s3.close();
  });

  /** POSTs JSON text as it is (supertest would re-serialise an object). */
  const postText = (path: string, text: string, key: 'push' | 'query' = 'push') =>
    t.http.post(path).set(auth(project, key)).set('Content-Type', 'application/json').send(text);
  /** The small export's body text for a query given as text. */
  const exportText = async (collection: string, query?: string) => {
    const req = t.http.get(`/events/${collection}/export`).set(auth(project, 'query'));
    const res = await (query === undefined ? req : req.query({ query }));
    expect(res.status).toBe(200);
    return res.text;
  };
  const queryText = (collection: string, query: string) => t.http.get(`/events/${collection}`).set(auth(project, 'query')).query({ query });
  const exportedIds = async (collection: string, query: string): Promise<unknown[]> =>
    (JSON.parse(await exportText(collection, query)) as { results: Array<{ id: unknown }> }).results.map((e) => e.id);

  it('single push: stored and small-exported with every digit, trailing zero kept', async () => {
    const res = await postText('/events/single', `{"id": "s1", "timestamp": "2015-01-01T00:00:00.000Z", ${properties}}`);
    expect(res.status).toBe(200);
    expect(await exportText('single')).toBe(`{"results":[${exportedLine('s1', '2015-01-01T00:00:00.000Z')}]}`);
  });

  it('batch push: stored with every digit, beside events without such numbers', async () => {
    const res = await postText(
      '/events',
      `{"batch": [{"id": "b1", "timestamp": "2015-01-01T00:00:00.000Z", ${properties}}, ` +
        `{"id": "b2", "timestamp": "2015-01-02T00:00:00.000Z", "plain": 34.95}]}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ batch: [{ success: true }, { success: true }] });
    expect(await exportText('batch')).toBe(
      `{"results":[${exportedLine('b1', '2015-01-01T00:00:00.000Z')},` +
        `{"id": "b2", "timestamp": "2015-01-02T00:00:00.000Z", "plain": 34.95}]}`,
    );
  });

  it('S3 export: the object holds every digit, and a filter in the body on a big number selects exactly', async () => {
    const pushed = await postText(
      '/events',
      `{"s3": [{"id": "x1", "timestamp": "2015-01-01T00:00:00.000Z", ${properties}}, ` +
        `{"id": "x2", "timestamp": "2015-01-02T00:00:00.000Z", "order_id": ${BIG_ROUNDED}}]}`,
    );
    expect(pushed.status).toBe(200);
    // The body goes through the body parser and the DTO pipe (class-transformer) as text.
    const created = await postText(
      '/events/s3/export',
      `{"query": {"filter": {"order_id": ${BIG}}}, "s3Path": "${s3.endpoint}/${BUCKET}/out/", ` +
        `"s3AccessKeyId": "${s3.accessKeyId}", "s3SecretAccessKey": "${s3.secretAccessKey}"}`,
      'query',
    );
    expect(created.status).toBe(201);
    const { final } = await waitForExport(t.http, pathOf(created.headers.location), auth(project, 'query'));
    expect(final.status).toBe('Complete');
    const object = await s3.getObject(BUCKET, `out/${final.filename}`);
    expect(object.toString('utf8')).toBe(`${exportedLine('x1', '2015-01-01T00:00:00.000Z')}\n`);
  });

  it('an S3 export whose query is a relaxed-JSON string holding such a number is a 422 on query', async () => {
    const res = await postText(
      '/events/s3/export',
      `{"query": "{filter:{order_id:${BIG}}}", "s3Path": "${s3.endpoint}/${BUCKET}/bad/", ` +
        `"s3AccessKeyId": "${s3.accessKeyId}", "s3SecretAccessKey": "${s3.secretAccessKey}"}`,
      'query',
    );
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'query', description: expect.stringContaining(`The number ${BIG} cannot be read exactly`) }]);
  });

  it.each(['12345678901234567890', '1.50', '5'])('an S3 export whose query is the number %s is a 422, as before', async (number) => {
    const res = await postText(
      '/events/s3/export',
      `{"query": ${number}, "s3Path": "${s3.endpoint}/${BUCKET}/bad/", "s3AccessKeyId": "${s3.accessKeyId}", "s3SecretAccessKey": "${s3.secretAccessKey}"}`,
      'query',
    );
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ errors: [{ field: 'query', description: 'The query JSON supplied is not valid.' }] });
  });

  describe('filters compare exactly', () => {
    beforeAll(async () => {
      const res = await postText(
        '/events',
        `{"f": [{"id": "big", "timestamp": "2015-01-01T00:00:00.000Z", "order_id": ${BIG}}, ` +
          `{"id": "rounded", "timestamp": "2015-01-02T00:00:00.000Z", "order_id": ${BIG_ROUNDED}}, ` +
          `{"id": "odd", "timestamp": "2015-01-03T00:00:00.000Z", "order_id": ${TWO_53_PLUS_1}}, ` +
          `{"id": "even", "timestamp": "2015-01-04T00:00:00.000Z", "order_id": 9007199254740992}, ` +
          `{"id": "price", "timestamp": "2015-01-05T00:00:00.000Z", "order_id": 1.50}]}`,
      );
      expect(res.status).toBe(200);
    });

    it.each([
      [`{"filter": {"order_id": ${BIG}}}`, ['big']],
      [`{"filter": {"order_id": {"eq": ${BIG_ROUNDED}}}}`, ['rounded']],
      [`{"filter": {"order_id": {"eq": ${TWO_53_PLUS_1}}}}`, ['odd']],
      [`{"filter": {"order_id": {"neq": ${BIG}}}}`, ['rounded', 'odd', 'even', 'price']],
      [`{"filter": {"order_id": {"gt": ${BIG_ROUNDED}}}}`, ['big']],
      [`{"filter": {"order_id": {"gte": 9007199254740993, "lt": ${BIG_ROUNDED}}}}`, ['odd']],
      [`{"filter": {"order_id": {"in": [${BIG}, ${TWO_53_PLUS_1}]}}}`, ['big', 'odd']],
      [`{"filter": {"order_id": [${BIG_ROUNDED}, 9007199254740992]}}`, ['rounded', 'even']],
      // Values, not spellings: 1.5 equals the stored 1.50.
      ['{"filter": {"order_id": 1.5}}', ['price']],
      ['{"filter": {"order_id": 1.500}}', ['price']],
    ])('%s selects %j', async (query, ids) => {
      expect(await exportedIds('f', query)).toEqual(ids);
    });

    it('aggregation queries use the same exact filters', async () => {
      const res = await queryText('f', `{"select": {"n": "count"}, "filter": {"order_id": {"in": [${BIG}]}}}`);
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([{ n: 1, _count: 1 }]);
    });

    const inexact = (number: string) => ({
      errors: [
        {
          field: 'query',
          description:
            `The number ${number} cannot be read exactly from relaxed JSON, which reads numbers as doubles (about 15 significant ` +
            'digits); write the query as strict JSON (quoted keys and strings) to use it.',
        },
      ],
    });

    it.each([`{filter:{order_id:${BIG}}}`, `{filter: {order_id: {in: [1, ${TWO_53_PLUS_1}]}}}`])(
      'relaxed JSON %s, whose number a double would change, is a 422, never a filter on the rounded number',
      async (query) => {
        // JSON5 reads 12345678901234567890 as the double 12345678901234567000, which would match the other event.
        const number = query.includes(BIG) ? BIG : TWO_53_PLUS_1;
        for (const path of ['/events/f/export', '/events/f']) {
          const res = await t.http.get(path).set(auth(project, 'query')).query({ query });
          expect(res.status).toBe(422);
          expect(res.body).toEqual(inexact(number));
        }
      },
    );

    it('relaxed JSON keeps working for numbers a double holds', async () => {
      expect(await exportedIds('f', `{filter:{order_id:${BIG_ROUNDED}}}`)).toEqual(['rounded']);
      expect(await exportedIds('f', '{filter:{order_id:1.500}}')).toEqual(['price']);
    });

    it.each([
      ['{"filter": {"order_id": 1e400}}', 'filter.order_id'],
      ['{"filter": {"order_id": {"gt": -1e400}}}', 'filter.order_id.gt'],
      ['{"filter": {"order_id": {"in": [1, 1e-400]}}}', 'filter.order_id.in'],
      ['{filter: {order_id: NaN}}', 'filter.order_id'],
      ['{filter: {order_id: {lt: Infinity}}}', 'filter.order_id.lt'],
    ])('%s is a 422 on %s', async (query, field) => {
      const res = await t.http.get('/events/f/export').set(auth(project, 'query')).query({ query });
      expect(res.status).toBe(422);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });
  });

  describe('aggregations are exact', () => {
    beforeAll(async () => {
      const res = await postText(
        '/events',
        `{"agg": [{"v": ${BIG}, "g": "a"}, {"v": ${BIG}, "g": "a"}, {"v": ${TWO_53_PLUS_1}, "g": "b"}, {"v": 1.50, "g": "b"}]}`,
      );
      expect(res.status).toBe(200);
    });

    it('sum of two big integers, and min, max, avg, written digit for digit; the ETag hashes the text sent', async () => {
      const query = `{"select": {"total": {"sum": "v"}, "low": {"min": "v"}, "high": {"max": "v"}, "mean": {"avg": "v"}}, "filter": {"g": "a"}}`;
      const res = await queryText('agg', query);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.text).toBe(
        '{"metadata":{"groups":[],"interval":null,"timezone":null},' +
          `"results":[{"total":24691357802469135780,"low":${BIG},"high":${BIG},"mean":${BIG},"_count":2}]}`,
      );
      expect(res.headers.etag).toBe(`"${createHash('sha256').update(res.text).digest('base64url')}"`);
      const cached = await queryText('agg', query).set('If-None-Match', res.headers.etag);
      expect(cached.status).toBe(304);
    });

    it('mixed sums keep every digit; trailing zeros of results are dropped', async () => {
      const res = await queryText('agg', '{"select": {"total": {"sum": "v"}, "mean": {"avg": "v"}}, "filter": {"g": "b"}}');
      expect(res.status).toBe(200);
      // 9007199254740993 + 1.50 = 9007199254740994.50 (numeric) → 9007199254740994.5; avg 4503599627370497.25.
      expect(res.text).toContain('"results":[{"total":9007199254740994.5,"mean":4503599627370497.25,"_count":2}]');
    });

    it('group keys keep every digit, and groups still follow numeric order', async () => {
      const res = await queryText('agg', '{"select": {"n": "count"}, "groupBy": "v"}');
      expect(res.status).toBe(200);
      expect(res.text).toBe(
        '{"metadata":{"groups":["v"],"interval":null,"timezone":null},' +
          `"results":[{"v":1.50,"n":1,"_count":1},{"v":${TWO_53_PLUS_1},"n":1,"_count":1},{"v":${BIG},"n":2,"_count":2}]}`,
      );
    });

    it('answers that hold no exact numbers are written as before', async () => {
      const res = await queryText('agg', '{"select": {"n": "count", "low": {"min": "v"}}, "filter": {"g": "b"}}');
      expect(res.status).toBe(200);
      expect(res.text).toBe('{"metadata":{"groups":[],"interval":null,"timezone":null},"results":[{"n":2,"low":1.5,"_count":2}]}');
    });
  });

  describe('what stays refused', () => {
    it.each([
      ['{"big": 1e400}', 'big', 'Numbers must be finite (at most about 1.8e308).'],
      ['{"big": -1.0e400}', 'big', 'Numbers must be finite (at most about 1.8e308).'],
      ['{"tiny": 1e-400}', 'tiny', 'Numbers other than 0 must be at least about 5e-324 in magnitude.'],
      // A zero PostgreSQL cannot read: this was a 500 ("value overflows numeric format").
      ['{"v": 0e99999999999}', 'v', 'Exponents can be at most 100,000 in magnitude.'],
      [`{"id": ${TWO_53_PLUS_1}}`, 'id', expect.stringMatching(/^The id must be/)],
      [`{"id": ${BIG}}`, 'id', expect.stringMatching(/^The id must be/)],
    ])('%s is a 422 on %s', async (body, field, description) => {
      const res = await postText('/events/refused', body);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ errors: [{ field, description }] });
    });

    it.each(['{"n": NaN}', '{"n": Infinity}', '{"n": -Infinity}', '{"n": 12345678901234567890'])('%s is not JSON: 400', async (body) => {
      const res = await postText('/events/refused', body);
      expect(res.status).toBe(400);
      expect(res.body.errorMessage).toMatch(/^The request body is not valid JSON: /);
    });

    it('numeric ids keep their rule: 7.0 and 1e2 are the integers 7 and 100', async () => {
      expect((await postText('/events/ids', '{"id": 7.0, "timestamp": "2015-01-01T00:00:00.000Z"}')).status).toBe(200);
      expect((await postText('/events/ids', '{"id": 1e2, "timestamp": "2015-01-02T00:00:00.000Z"}')).status).toBe(200);
      expect(await exportText('ids')).toBe(
        '{"results":[{"id": 7, "timestamp": "2015-01-01T00:00:00.000Z"},{"id": 100, "timestamp": "2015-01-02T00:00:00.000Z"}]}',
      );
    });
  });
});
