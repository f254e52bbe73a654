import { auth, startTestApp, TestApp } from './support/test-app';
import type { CreatedProject } from '../src/projects/projects.service';

describe('push (Connect docs, "Pushing events")', () => {
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    t = await startTestApp();
    project = await t.createProject();
  });
  afterAll(() => t.close());

  const push = (collection: string, body: unknown, key: keyof CreatedProject['keys'] = 'push') =>
    t.http.post(`/events/${collection}`).set(auth(project, key)).set('Content-Type', 'application/json').send(JSON.stringify(body));

  const exportAll = async (collection: string) => {
    const res = await t.http.get(`/events/${collection}/export`).set(auth(project, 'query'));
    expect(res.status).toBe(200);
    return res.body.results as Array<Record<string, unknown>>;
  };

  it('stores test vector 1 and answers 200 with an empty body typed application/json (connect-rb reads the type)', async () => {
    const res = await push('vector1', { customer: { firstName: 'Tom', lastName: 'Smith' }, product: '12 red roses', purchasePrice: 34.95 });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['content-length']).toBe('0');
    const [event, ...rest] = await exportAll('vector1');
    expect(rest).toEqual([]);
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      customer: { firstName: 'Tom', lastName: 'Smith' },
      product: '12 red roses',
      purchasePrice: 34.95,
    });
    expect(Math.abs(Date.parse(event.timestamp as string) - Date.now())).toBeLessThan(60_000);
  });

  it('de-duplicates test vector 2 by id, also within one batch and concurrently', async () => {
    const event = { customer: { firstName: 'Tom', lastName: 'Smith' }, id: '1849506679', product: '12 red roses', purchasePrice: 34.95 };
    expect((await push('dedupe', event)).status).toBe(200);
    expect((await push('dedupe', { ...event, product: 'changed' })).status).toBe(200);
    const batch = await t.http
      .post('/events')
      .set(auth(project, 'push'))
      .send({ dedupe: [event, event], other: [event] });
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({ dedupe: [{ success: true }, { success: true }], other: [{ success: true }] });
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => push('dedupe', { id: 'race', n: 1 })));
    expect(concurrent.map((r) => r.status)).toEqual(Array(10).fill(200));
    const stored = await exportAll('dedupe');
    expect(stored.map((e) => [e.id, e.product ?? null])).toEqual(
      expect.arrayContaining([
        ['1849506679', '12 red roses'],
        ['race', null],
      ]),
    );
    expect(stored).toHaveLength(2);
    expect(await exportAll('other')).toHaveLength(1);
  });

  it('keeps numeric ids as numbers and distinct from the same digits as a string', async () => {
    await push('numeric-ids', { id: 1, timestamp: '2015-01-01T00:00:00Z' });
    await push('numeric-ids', { id: '1', timestamp: '2015-01-01T00:00:01Z' });
    expect((await exportAll('numeric-ids')).map((e) => e.id)).toEqual([1, '1']);
  });

  it.each([
    ['2015-02-05T14:55:56.587Z', '2015-02-05T14:55:56.587Z'],
    ['2015-07-01T04:07:57Z', '2015-07-01T04:07:57.000Z'],
    ['2015-07-01T14:07:57+10:00', '2015-07-01T04:07:57.000Z'],
    ['2015-07-01T04:07:57+0000', '2015-07-01T04:07:57.000Z'],
    ['2015-08-01T00:00:00', '2015-08-01T00:00:00.000Z'],
    ['2015-08-01T00:00:00.123456-05:30', '2015-08-01T05:30:00.123Z'],
  ])('stores timestamp %s in UTC as %s', async (given, stored) => {
    const collection = `ts-${Buffer.from(given).toString('hex')}`;
    expect((await push(collection, { timestamp: given, x: 1 })).status).toBe(200);
    expect(await exportAll(collection)).toEqual([{ id: expect.any(String), timestamp: stored, x: 1 }]);
  });

  it('answers 400 for tp_ properties at the root, in any case (test vector 4)', async () => {
    for (const name of ['tp_internal', 'TP_Hello']) {
      const res = await push('rules', { [name]: 1 });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ errorMessage: 'Property names starting with tp_ are reserved and cannot be set.' });
    }
    expect((await push('rules', { nested: { tp_ok: 1 } })).status).toBe(200);
  });

  it('answers 400 for _id', async () => {
    const res = await push('rules', { _id: 'x' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errorMessage: 'The property name _id is reserved and cannot be set.' });
  });

  it('answers 422 per field for dots, long names, bad ids and bad timestamps', async () => {
    const long = 'x'.repeat(256);
    const res = await push('rules', { 'invalid.property': 'value', nested: { [long]: 1, 'a.b': 2 }, id: {}, timestamp: 'yesterday' });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'invalid.property', description: "Property names cannot contain '.'." },
        { field: 'nested.a.b', description: "Property names cannot contain '.'." },
        { field: `nested.${long}`, description: 'Property names must be at most 255 characters.' },
        {
          field: 'id',
          description: 'The id must be a non-empty string of at most 255 characters, or an integer of at most 2^53 - 1 in magnitude.',
        },
        { field: 'timestamp', description: 'The timestamp must be an ISO-8601 date-time, e.g. 2015-02-05T14:55:56.587Z.' },
      ]),
    );
    expect(res.body.errors).toHaveLength(5);
    expect((await push('rules', { ['y'.repeat(255)]: 1 })).status).toBe(200);
  });

  it('answers 422 for strings PostgreSQL cannot store, instead of failing', async () => {
    const res = await t.http
      .post('/events/rules')
      .set(auth(project, 'push'))
      .set('Content-Type', 'application/json')
      .send('{"name":"a\\u0000b","lone":"\\ud800"}');
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['lone', 'name']);
  });

  it('answers 413 over 64 KB (test vector 4) and accepts just under it', async () => {
    const over = await push('size', { blob: 'x'.repeat(64 * 1024) });
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ errorMessage: 'Maximum event size of 64kb exceeded.' });
    const under = await push('size', { blob: 'x'.repeat(64 * 1024 - 20) });
    expect(under.status).toBe(200);
  });

  it.each([
    ['[1,2]', 400, { errorMessage: 'An event must be a JSON object.' }],
    ['"text"', 400, { errorMessage: 'An event must be a JSON object.' }],
    ['null', 400, { errorMessage: 'An event must be a JSON object.' }],
    ['{"a":', 400, { errorMessage: expect.stringMatching(/^The request body is not valid JSON/) }],
    ['', 400, { errorMessage: 'An event must be a JSON object.' }],
  ])('answers a clear 4xx for body %j', async (body, status, expected) => {
    const res = await t.http.post('/events/bodies').set(auth(project, 'push')).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(status);
    expect(res.body).toEqual(expected);
  });

  it('decodes + in the collection path as a space (.NET and Ruby SDKs)', async () => {
    expect((await push('my+coll', { n: 1 })).status).toBe(200);
    expect((await push('my%20coll', { n: 2 })).status).toBe(200);
    expect((await push('a%2Bb', { n: 3 })).status).toBe(200);
    expect((await exportAll('my%20coll')).map((e) => e.n)).toEqual([1, 2]);
    expect((await exportAll('a%2Bb')).map((e) => e.n)).toEqual([3]);
  });

  it('answers 422 for invalid collection names', async () => {
    for (const name of ['%20', '%0A', encodeURIComponent('c'.repeat(256)), 'a%2Fb']) {
      const res = await push(name, { n: 1 });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].field).toBe('collection');
    }
    expect((await push(encodeURIComponent('c'.repeat(255)), { n: 1 })).status).toBe(200);
  });

  describe('hostile input (regressions)', () => {
    const raw = (path: string, body: string) =>
      t.http.post(path).set(auth(project, 'push')).set('Content-Type', 'application/json').send(body);

    it('answers 400 for bodies nested over 100 levels and 422 for events over 64, never 500', async () => {
      const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      const deep = await raw('/events/deep', nested(5000));
      expect(deep.status).toBe(400);
      expect(deep.body).toEqual({ errorMessage: 'The request body is nested more than 100 levels deep.' });
      expect((await raw('/events', `{"deep":[${nested(5000)}]}`)).status).toBe(400);
      const tooDeep = await raw('/events/deep', nested(80));
      expect(tooDeep.status).toBe(422);
      expect(tooDeep.body.errors[0].description).toBe('Events cannot be nested more than 64 levels deep.');
      expect((await raw('/events/deep', nested(60))).status).toBe(200);
      const brackets = await raw('/events/deep', JSON.stringify({ text: '['.repeat(5000) }));
      expect(brackets.status).toBe(200);
    });

    it('answers 422 for __proto__ property names, and reports a batch collection named __proto__', async () => {
      const res = await raw('/events/proto', '{"__proto__":{"x":1},"ok":1}');
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ errors: [{ field: '__proto__', description: 'The property name __proto__ is reserved.' }] });
      const batch = await raw('/events', '{"__proto__":[{"id":"r1"},{"tp_x":1}],"other":[{}]}');
      expect(batch.status).toBe(200);
      expect(JSON.parse(batch.text)).toEqual(
        JSON.parse(
          '{"__proto__":[{"success":true},{"success":false,"message":"Property names starting with tp_ are reserved and cannot be set."}],"other":[{"success":true}]}',
        ),
      );
      expect(Object.keys(JSON.parse(batch.text))).toEqual(['__proto__', 'other']);
    });

    it('answers 422 for numeric ids beyond 2^53 and numbers JSON cannot hold, instead of altering them', async () => {
      const big = await raw('/events/numbers', '{"id":123456789012345678901,"n":"first"}');
      expect(big.status).toBe(422);
      expect(big.body.errors[0].field).toBe('id');
      const inf = await raw('/events/numbers', '{"big":1e400}');
      expect(inf.status).toBe(422);
      expect(inf.body).toEqual({ errors: [{ field: 'big', description: 'Numbers must be finite (at most about 1.8e308).' }] });
      expect((await raw('/events/numbers', `{"id":${Number.MAX_SAFE_INTEGER}}`)).status).toBe(200);
    });

    it('treats an empty chunked body like an empty body', async () => {
      const res = await t.http
        .post('/events/chunked')
        .set(auth(project, 'push'))
        .set('Transfer-Encoding', 'chunked')
        .set('Content-Type', 'application/json')
        .send('');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ errorMessage: 'An event must be a JSON object.' });
      expect(await exportAll('chunked')).toEqual([]);
    });

    it('accepts routes in any case, with the same rules', async () => {
      expect((await push('case', { a: 1 }).then(() => raw('/EVENTS/case', '{"b":2}'))).status).toBe(200);
      expect((await exportAll('case')).map((e) => e.a ?? e.b)).toEqual([1, 2]);
    });

    it('stores concurrent batches of the same ids in any order once each, without deadlocks', async () => {
      const ids = Array.from({ length: 5000 }, (_, i) => `id-${i}`);
      const shuffled = (seed: number) => {
        const copy = [...ids];
        let state = seed;
        for (let i = copy.length - 1; i > 0; i--) {
          state = (state * 1103515245 + 12345) % 2147483648;
          const j = state % (i + 1);
          [copy[i], copy[j]] = [copy[j], copy[i]];
        }
        return copy;
      };
      // Bodies serialised up front so the eight requests really reach PostgreSQL together.
      const bodies = Array.from({ length: 8 }, (_, i) => JSON.stringify({ overlap: shuffled(i + 1).map((id) => ({ id })) }));
      const results = await Promise.all(
        bodies.map((body) =>
          fetch(`${t.baseUrl}/events`, { method: 'POST', headers: { ...auth(project, 'push'), 'Content-Type': 'application/json' }, body }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(
        (await t.http.get('/events/overlap/export').set(auth(project, 'query')).query({ query: '{filter:{}}' })).body.results,
      ).toHaveLength(5000);
    });
  });

  describe('batch (Connect docs, "Pushing events, batches")', () => {
    it('answers test vector 5 in request order, per event', async () => {
      const res = await t.http
        .post('/events')
        .set(auth(project, 'push'))
        .send({
          purchases: [
            { customer: { firstName: 'Tom', lastName: 'Smith' }, id: '1849506679', product: '12 red roses', purchasePrice: 34.95 },
            { customer: { firstName: 'Jane', lastName: 'Doe' }, id: '123456', product: '1 daisy', tp_price: 8.95 },
            { 'bad.name': 1 },
            { id: '1', blob: 'x'.repeat(70_000) },
          ],
          refunds: [{ customer: { firstName: 'Tom', lastName: 'Smith' }, id: 'REF-1234', product: '12 red roses', purchasePrice: -34.95 }],
        });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        purchases: [
          { success: true },
          { success: false, message: 'Property names starting with tp_ are reserved and cannot be set.' },
          { success: false, message: "bad.name: Property names cannot contain '.'." },
          { success: false, message: 'Maximum event size of 64kb exceeded.' },
        ],
        refunds: [{ success: true }],
      });
      expect((await exportAll('purchases')).map((e) => e.id)).toEqual(['1849506679']);
      expect((await exportAll('refunds')).map((e) => e.purchasePrice)).toEqual([-34.95]);
    });

    it('accepts exactly 5,000 events and answers 413 for 5,001, storing none of them', async () => {
      const events = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
      const over = await t.http
        .post('/events')
        .set(auth(project, 'push'))
        .send({ big1: events(2500), big2: events(2501) });
      expect(over.status).toBe(413);
      expect(over.body).toEqual({ errorMessage: 'Maximum batch size of 5000 events exceeded (got 5001).' });
      expect(await exportAll('big1')).toEqual([]);
      const ok = await t.http
        .post('/events')
        .set(auth(project, 'push'))
        .send({ big1: events(5000) });
      expect(ok.status).toBe(200);
      expect(ok.body.big1).toHaveLength(5000);
      expect((await exportAll('big1')).length).toBe(5000);
    });

    it('answers 400 when the body is not {collection: [events]}', async () => {
      for (const body of ['[]', '{"c": {"a": 1}}', '5']) {
        const res = await t.http.post('/events').set(auth(project, 'push')).set('Content-Type', 'application/json').send(body);
        expect(res.status).toBe(400);
        expect(res.body.errorMessage).toMatch(/collection/);
      }
    });

    it('reports an invalid collection name per event', async () => {
      const res = await t.http
        .post('/events')
        .set(auth(project, 'push'))
        .send({ '': [{ a: 1 }], fine: [{ a: 1 }] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ '': [{ success: false, message: 'Collection names cannot be empty.' }], fine: [{ success: true }] });
    });
  });
});
