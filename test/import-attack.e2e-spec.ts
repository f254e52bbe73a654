import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, until } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';

/** Hostile and careless inputs to POST /event-import (docs/imports.md), and faults around it. */
interface ImportStatus {
  collection: string;
  status: 'Pending' | 'Running' | 'Complete' | 'Failed';
  importedEvents: number;
  duplicateEvents: number;
  percentComplete: number;
  error: string | null;
  eventErrors: Array<{ index: number; error: string }>;
}

describe('imports under attack', () => {
  let s3: TestS3Server;
  let client: S3Client;
  let t: TestApp;
  let project: CreatedProject;
  let db: DataSource;
  const BUCKET = 'attack';

  beforeAll(async () => {
    s3 = await startS3Server({
      buckets: [BUCKET],
      accessKeyId: 'AKIAATTACKTEST000001',
      secretAccessKey: 'attack-secret-5f1e2d3c4b5a69788796',
    });
    client = new S3Client(s3.clientConfig());
    t = await startTestApp({
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      IMPORT_BATCH_LINES: '100',
      EXPORT_MAX_ATTEMPTS: '2',
      EXPORT_RETRY_BASE_DELAY_MS: '50',
      IMPORT_MAX_PENDING_PER_PROJECT: '50',
    });
    project = await t.createProject();
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    client.destroy();
    await t.close();
    await s3.close();
  });

  const put = (key: string, body: Buffer | string) =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(body) }));
  const credentials = () => ({ s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
  const start = (collection: string, key: string) =>
    t.http
      .post('/event-import')
      .set(auth(project, 'push'))
      .send({ collection, s3Path: `${s3.endpoint}/${BUCKET}/${key}`, ...credentials() });
  const waitFor = (location: string, timeoutMs = 30_000) =>
    until(
      'the import to finish',
      async () => {
        const doc = (await t.http.get(pathOf(location)).set(auth(project, 'push'))).body as ImportStatus;
        return doc.status === 'Complete' || doc.status === 'Failed' ? doc : null;
      },
      timeoutMs,
    );
  const run = async (collection: string, key: string) => {
    const res = await start(collection, key);
    expect(res.status).toBe(201);
    return waitFor(res.headers.location);
  };
  const stored = async (collection: string) =>
    db.query<Array<{ id: unknown; properties: Record<string, unknown> }>>(
      `SELECT event_id AS id, properties FROM events WHERE project_id = $1 AND collection = $2 ORDER BY id`,
      [project.projectId, collection],
    );
  const storedText = async (collection: string) =>
    (
      await db.query(`SELECT properties::text AS p FROM events WHERE project_id = $1 AND collection = $2 ORDER BY id`, [
        project.projectId,
        collection,
      ])
    ).map((r: { p: string }) => r.p);

  it('a line holding \\u0000 is an event error, not a failed import', async () => {
    await put('nul.json', ['{"n": 0}', '{"n": 1, "s": "a\\u0000b"}', '{"n": 2}'].join('\n'));
    const final = await run('nul', 'nul.json');
    expect([final.status, final.error, final.importedEvents]).toEqual(['Complete', null, 2]);
    expect(final.eventErrors.map((e) => e.index)).toEqual([1]);
  });

  it('a line with a lone surrogate is an event error or stored, never a failed import', async () => {
    await put('surrogate.json', ['{"n": 0}', '{"n": 1, "s": "\\ud800"}', '{"n": 2}'].join('\n'));
    const final = await run('surrogate', 'surrogate.json');
    expect([final.status, final.error]).toEqual(['Complete', null]);
    expect(final.importedEvents + final.eventErrors.length).toBe(3);
  });

  it('refuses __proto__ keys per line as a push does (on both parse paths), keeps constructor', async () => {
    const lines = [
      '{"id": "a", "__proto__": {"x": 1}}',
      '{"id": "b", "__proto__": {"x": 1}, "big": 12345678901234567890}',
      '{"constructor": 2, "toString": 3}',
    ];
    await put('proto.json', lines.join('\n'));
    const final = await run('proto', 'proto.json');
    expect([final.status, final.importedEvents]).toEqual(['Complete', 1]);
    expect(final.eventErrors).toEqual([
      { index: 0, error: expect.stringMatching(/__proto__/) },
      { index: 1, error: expect.stringMatching(/__proto__/) },
    ]);
    expect(await storedText('proto')).toEqual(['{"toString": 3, "constructor": 2}']);
  });

  it('keeps every digit of numbers and refuses 1e400', async () => {
    const lines = [
      '{"id": "a", "n": 12345678901234567890}',
      '{"id": "b", "n": 1.50}',
      '{"id": "c", "n": 1e400}',
      '{"id": "d", "n": -0.000000000000000000001}',
    ];
    await put('numbers.json', lines.join('\n'));
    const final = await run('numbers', 'numbers.json');
    expect(final.status).toBe('Complete');
    expect(final.importedEvents).toBe(3);
    expect(final.eventErrors.map((e) => e.index)).toEqual([2]);
    expect(await storedText('numbers')).toEqual(['{"n": 12345678901234567890}', '{"n": 1.50}', '{"n": -0.000000000000000000001}']);
  });

  it('refuses invalid timestamps per line', async () => {
    const lines = [
      '{"timestamp": "not a date"}',
      '{"timestamp": "2026-13-45T00:00:00Z"}',
      '{"timestamp": 12}',
      '{"timestamp": "2026-01-02T03:04:05Z"}',
    ];
    await put('ts.json', lines.join('\n'));
    const final = await run('ts', 'ts.json');
    expect(final.status).toBe('Complete');
    expect(final.importedEvents).toBe(1);
    expect(final.eventErrors.map((e) => e.index)).toEqual([0, 1, 2]);
  });

  it('deep nesting: 64 levels stored, 65 and 200,000 refused without a crash', async () => {
    const nest = (n: number) => `{"a": ${'['.repeat(n - 1)}1${']'.repeat(n - 1)}}`;
    await put('deep.json', [nest(64), nest(65), nest(200_000)].join('\n'));
    const final = await run('deep', 'deep.json');
    expect([final.status, final.importedEvents]).toEqual(['Complete', 1]);
    expect(final.eventErrors.map((e) => e.index)).toEqual([1, 2]);
  });

  it('a JSON array on line 2 is an event error of that line', async () => {
    await put('array2.json', ['{"n": 0}', '[{"n": 1}]', '{"n": 2}'].join('\n'));
    const final = await run('array2', 'array2.json');
    expect([final.status, final.importedEvents, final.eventErrors.map((e) => e.index)]).toEqual(['Complete', 2, [1]]);
  });

  it('binary garbage: event errors, Complete', async () => {
    const garbage = Buffer.alloc(200_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 2654435761) >>> 24;
    garbage[0] = 0x41; // not a magic number
    await put('garbage.bin', garbage);
    const final = await run('garbage', 'garbage.bin');
    expect([final.status, final.error, final.importedEvents]).toEqual(['Complete', null, 0]);
  });

  it('a gzip object of 50 MB of newlines (a blank-line bomb) commits by bytes, not a transaction per IMPORT_BATCH_LINES blank lines', async () => {
    await put('newlines.json.gz', gzipSync(Buffer.concat([Buffer.alloc(50 * 1024 * 1024, 0x0a), Buffer.from('{"last": true}')])));
    // Every write of the import's row (claim, each batch's position, Complete) is counted by a trigger of the test's own.
    await db.query(`CREATE TABLE newline_writes (line_index bigint)`);
    await db.query(`CREATE FUNCTION count_newline_write() RETURNS trigger LANGUAGE plpgsql AS $$
                      BEGIN INSERT INTO newline_writes VALUES (NEW.line_index); RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER newline_writes AFTER UPDATE ON event_imports FOR EACH ROW
                      WHEN (NEW.collection = 'newlines') EXECUTE FUNCTION count_newline_write()`);
    try {
      const final = await run('newlines', 'newlines.json.gz');
      expect([final.status, final.importedEvents, final.eventErrors]).toEqual(['Complete', 1, []]);
      const [row] = await db.query('SELECT line_index FROM event_imports WHERE collection = $1', ['newlines']);
      expect(Number(row.line_index)).toBe(50 * 1024 * 1024 + 1);
      // 50 MB in batches of at most 8 MB of text: 7 positions (and a few writes of the status). Without batches
      // ended by bytes, this is 524,289 transactions of IMPORT_BATCH_LINES (100 here) empty lines each.
      const [{ writes, positions }] = await db.query(
        `SELECT count(*)::int AS writes, count(DISTINCT line_index)::int AS positions FROM newline_writes`,
      );
      expect(positions).toBeGreaterThanOrEqual(7);
      expect(writes).toBeLessThan(20);
    } finally {
      await db.query(`DROP TRIGGER newline_writes ON event_imports`);
      await db.query(`DROP FUNCTION count_newline_write()`);
      await db.query(`DROP TABLE newline_writes`);
    }
  });

  it('a gzip object cut short fails saying it is truncated, not with a generic error', async () => {
    const full = gzipSync(Array.from({ length: 2000 }, (_, i) => JSON.stringify({ n: i })).join('\n'));
    await put('cut.json.gz', full.subarray(0, full.length - 100));
    const final = await run('cut', 'cut.json.gz');
    expect([final.status, final.error]).toEqual([
      'Failed',
      expect.stringMatching(
        /^The object s3:\/\/attack\/cut\.json\.gz at http:\/\/127\.0\.0\.1:\d+ is gzip-compressed but its compressed data/,
      ),
    ]);
    expect(final.error).toContain('(the file is truncated)');
  });

  it('a one-line JSON array over 1 MB fails as a JSON array (docs: "pretty-printed or not"), storing nothing', async () => {
    const events = Array.from({ length: 30_000 }, (_, i) => ({ n: i, product: 'twelve red roses and a card' }));
    await put('big-array.json', `\n  ${JSON.stringify(events)}`);
    const final = await run('bigarray', 'big-array.json');
    expect([final.status, final.importedEvents]).toEqual(['Failed', 0]);
    expect(final.error).toMatch(/^The object holds a JSON array; an import reads NDJSON/);
    expect(await stored('bigarray')).toEqual([]);
  });

  it('a first line over 1 MB is an event error; a later line starting with [ is then only an event error too', async () => {
    await put('long-first.json', [`{"big": "${'x'.repeat(1_100_000)}"}`, '[1]', '{"n": 2}'].join('\n'));
    const final = await run('longfirst', 'long-first.json');
    expect([final.status, final.error, final.importedEvents]).toEqual(['Complete', null, 1]);
    expect(final.eventErrors).toEqual([
      { index: 0, error: 'The line is longer than 1048576 bytes (1 MB), the most one event may take.' },
      { index: 1, error: 'An event must be a JSON object.' },
    ]);
  });

  it('a gzip object with garbage after its last member', async () => {
    await put('trailing.json.gz', Buffer.concat([gzipSync('{"n": 1}\n'), Buffer.from('GARBAGE')]));
    const final = await run('trailing', 'trailing.json.gz');
    // Either refused clearly, or the member's events stored: never a generic error.
    expect(final.error ?? '').not.toMatch(/logged for the operator/);
  });

  it('concurrent imports of one object into one collection: every id stored once, duplicates exact', async () => {
    await put('same.json', Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: `e-${i}`, n: i })).join('\n'));
    const results = await Promise.all([run('same', 'same.json'), run('same', 'same.json'), run('same', 'same.json')]);
    expect(results.map((r) => r.status)).toEqual(['Complete', 'Complete', 'Complete']);
    expect(results.reduce((s, r) => s + r.importedEvents, 0)).toBe(1000);
    expect(results.reduce((s, r) => s + r.duplicateEvents, 0)).toBe(2000);
    expect(await stored('same')).toHaveLength(1000);
  });

  it('malformed ids answer 404 in Connect shape', async () => {
    for (const id of ['%00', 'A'.repeat(24), 'x'.repeat(5000), '..%2f..%2fevents', '0'.repeat(24)]) {
      const got = await t.http.get(`/event-import/${id}`).set(auth(project, 'push'));
      const del = await t.http.delete(`/event-import/${id}`).set(auth(project, 'push'));
      expect([got.status, del.status, typeof got.body.errorMessage]).toEqual([404, 404, 'string']);
    }
  });

  it('cancel while the first HEAD is in flight: stays cancelled, nothing stored', async () => {
    await put('head.json', '{"n": 1}\n');
    s3.injectFaults([{ operation: 'HeadObject', key: 'head.json', times: 1, fault: { delayMs: 2000 } }]);
    try {
      const res = await start('head', 'head.json');
      await until('the HEAD', async () => s3.faultsInjected() > 0 || null);
      const cancel = await t.http.delete(pathOf(res.headers.location)).set(auth(project, 'push'));
      expect(cancel.status).toBe(200);
      await new Promise((r) => setTimeout(r, 3500));
      const doc = (await t.http.get(pathOf(res.headers.location)).set(auth(project, 'push'))).body as ImportStatus;
      expect([doc.status, doc.error, doc.importedEvents]).toEqual(['Failed', 'The import was cancelled.', 0]);
      expect(await stored('head')).toEqual([]);
    } finally {
      s3.clearFaults();
      s3.resetCounters();
    }
  });
});
