import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, waitForExport } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';
import { PROTOTYPE_NAMES } from './support/property-names';

/**
 * What the client asked is what runs: property names that are members of Object.prototype are
 * ordinary property paths on every endpoint. The S3 export's body `query` used to lose them in
 * the global ValidationPipe (`{"filter": {"valueOf": "nomatch"}}` exported every event).
 */
const NAMES = PROTOTYPE_NAMES;
const BUCKET = 'names';

describe('property names such as constructor, toString, valueOf on every endpoint', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    t = await startTestApp({ S3_ALLOWED_ENDPOINTS: s3.endpoint, EXPORT_CONCURRENCY: '4' });
    project = await t.createProject();
    // For each name: one event with it at the root and nested, one with it at the root only.
    const events = [
      { kind: 'plain', price: 500 },
      ...NAMES.flatMap((name) => [
        { kind: name, [name]: 'yes', nested: { [name]: 'yes' } },
        { kind: `${name}/root`, [name]: 'yes' },
      ]),
    ];
    const res = await t.http.post('/events').set(auth(project, 'push')).send({ names: events });
    expect(res.status).toBe(200);
    expect(res.body.names.every((r: { success: boolean }) => r.success)).toBe(true);
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  const headers = () => auth(project, 'query');
  const count = async (filter: unknown): Promise<number> => {
    const res = await t.http
      .get('/events/names')
      .set(headers())
      .query({ query: JSON.stringify({ select: { n: 'count' }, filter }) });
    expect(res.status).toBe(200);
    return res.body.results[0].n;
  };
  const smallExport = async (filter: unknown): Promise<string[]> => {
    const res = await t.http
      .get('/events/names/export')
      .set(headers())
      .query({ query: JSON.stringify({ filter }) });
    expect(res.status).toBe(200);
    return res.body.results.map((e: { kind: string }) => e.kind);
  };
  /** Kinds of the events an S3 export writes, with `query` sent as an object or as a JSON string. */
  const s3Export = async (query: unknown): Promise<{ kinds: string[]; id: string }> => {
    const created = await t.http
      .post('/events/names/export')
      .set(headers())
      .send({ query, s3Path: `${s3.endpoint}/${BUCKET}/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(created.status).toBe(201);
    const { final } = await waitForExport(t.http, pathOf(created.headers.location), headers());
    expect(final.status).toBe('Complete');
    const text = (await s3.getObject(BUCKET, final.filename)).toString('utf8');
    return {
      kinds:
        text === ''
          ? []
          : text
              .trimEnd()
              .split('\n')
              .map((line) => JSON.parse(line).kind),
      id: final.filename.slice(0, 24),
    };
  };

  it.each(NAMES)('%s: query, small export and S3 export (object and string) select exactly the same events', async (name) => {
    const hit = { [name]: 'yes', [`nested.${name}`]: 'yes' };
    const miss = { [name]: 'nomatch' };
    const [hitObject, hitString, missObject, missString] = await Promise.all([
      s3Export({ filter: hit }),
      s3Export(JSON.stringify({ filter: hit })),
      s3Export({ filter: miss }),
      s3Export(JSON.stringify({ filter: miss })),
    ]);
    expect(await count(hit)).toBe(1);
    expect(await smallExport(hit)).toEqual([name]);
    expect(hitObject.kinds).toEqual([name]);
    expect(hitString.kinds).toEqual([name]);

    expect(await count(miss)).toBe(0);
    expect(await smallExport(miss)).toEqual([]);
    expect(missObject.kinds).toEqual([]);
    expect(missString.kinds).toEqual([]);

    // The stored selection is the filter as asked.
    const [row] = await t.app.get(DataSource).query('SELECT selection FROM exports WHERE id = $1', [missObject.id]);
    expect(row.selection.filters).toEqual([{ path: [name], operator: 'eq', operand: 'nomatch' }]);
  });

  it.each(['toString', 'valueOf', 'constructor'])(
    '{"price": {"gt": 100, "%s": 1}} gets the same 422 from POST as from GET',
    async (name) => {
      const filter = { price: { gt: 100, [name]: 1 } };
      const expected = {
        errors: [
          {
            field: `filter.price.${name}`,
            description: `Unknown filter operator '${name}'; expected one of eq, neq, gt, gte, lt, lte, exists, in, startsWith, endsWith, contains.`,
          },
        ],
      };
      const body = (query: unknown) => ({
        query,
        s3Path: `${s3.endpoint}/${BUCKET}/`,
        s3AccessKeyId: s3.accessKeyId,
        s3SecretAccessKey: s3.secretAccessKey,
      });
      const responses = await Promise.all([
        t.http
          .get('/events/names')
          .set(headers())
          .query({ query: JSON.stringify({ select: { n: 'count' }, filter }) }),
        t.http
          .get('/events/names/export')
          .set(headers())
          .query({ query: JSON.stringify({ filter }) }),
        t.http.post('/events/names/export').set(headers()).send(body({ filter })),
        t.http
          .post('/events/names/export')
          .set(headers())
          .send(body(JSON.stringify({ filter }))),
      ]);
      for (const res of responses) {
        expect([res.status, res.body]).toEqual([422, expected]);
      }
    },
  );

  it('refuses only __proto__, the same way in the URL parameter as in a body', async () => {
    const res = await t.http.get('/events/names/export').set(headers()).query({ query: '{"filter": {"__proto__": "x"}}' });
    expect([res.status, res.body]).toEqual([
      422,
      { errors: [{ field: 'filter.__proto__', description: '__proto__ cannot be used as a property name.' }] },
    ]);
  });
});
