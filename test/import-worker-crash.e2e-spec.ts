import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, until } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TEST_SECRETS_KEY, TestApp } from './support/test-app';

/**
 * An import whose worker is SIGKILLed mid-way (docs/imports.md, "Resuming"): a second worker
 * continues after the last committed batch, so the import ends Complete with every line stored
 * exactly once, also lines without an `id` (whose ids are generated at insert, so storing them
 * again would duplicate them), for plain and gzip-compressed objects.
 */
const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');
const LINES = 120_000;
const BUCKET = 'crash-imports';

describe('an import whose worker dies mid-way', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const workers = new Set<ChildProcess>();

  function startWorker(): ChildProcess {
    const worker = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        ROLE: 'worker',
        DATABASE_URL: t.config.database.url,
        REDIS_URL: t.config.redis.url,
        QUEUE_PREFIX: t.config.redis.queuePrefix,
        SECRETS_KEY: TEST_SECRETS_KEY,
        S3_ALLOWED_ENDPOINTS: s3.endpoint,
        // A dead worker's job is taken over about 2 s after the kill.
        EXPORT_LOCK_DURATION_MS: '2000',
        EXPORT_STALLED_INTERVAL_MS: '1000',
        IMPORT_BATCH_LINES: '1000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    workers.add(worker);
    worker.once('exit', () => workers.delete(worker));
    return worker;
  }

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
    s3 = await startS3Server({ buckets: [BUCKET] });
    // The API alone: imports run only in the worker processes this test starts and kills.
    t = await startTestApp({ ROLE: 'api', S3_ALLOWED_ENDPOINTS: s3.endpoint });
    project = await t.createProject();
  });
  // Each case starts with no worker, so its first worker is the one that claims the import.
  afterEach(async () => {
    await Promise.all([...workers].map((w) => new Promise((resolve) => (w.once('exit', resolve), w.kill('SIGKILL')))));
  });
  afterAll(async () => {
    await t.close();
    await s3.close();
  });

  it.each([
    ['plain NDJSON', false],
    ['gzip-compressed NDJSON', true],
  ])(
    '%s: the second worker continues after the last committed batch; every line is stored once',
    async (_, gzip) => {
      const collection = gzip ? 'crash_gzip' : 'crash_plain';
      // No ids: a line stored twice would be two events.
      const text = Array.from({ length: LINES }, (_, i) =>
        JSON.stringify({ n: i, note: 'an event without an id, padded to look real' }),
      ).join('\n');
      const client = new S3Client(s3.clientConfig());
      await client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `${collection}.json`, Body: gzip ? gzipSync(text) : Buffer.from(text) }),
      );
      client.destroy();

      const first = startWorker();
      const res = await t.http
        .post('/event-import')
        .set(auth(project, 'push'))
        .send({
          collection,
          s3Path: `${s3.endpoint}/${BUCKET}/${collection}.json`,
          s3AccessKeyId: s3.accessKeyId,
          s3SecretAccessKey: s3.secretAccessKey,
        });
      expect(res.status).toBe(201);
      const id = res.headers.location.split('/').pop();
      const db = t.app.get(DataSource);
      const position = async () => Number((await db.query('SELECT line_index FROM event_imports WHERE id = $1', [id]))[0].line_index);
      await until('the first worker to commit a batch', async () => (await position()) > 0 || null, 30_000);
      const exited = new Promise((resolve) => first.once('exit', resolve));
      first.kill('SIGKILL');
      await exited;
      const atKill = await position();
      expect(atKill).toBeGreaterThan(0);
      expect(atKill).toBeLessThan(LINES);

      startWorker();
      const final = await until(
        'the import to finish',
        async () => {
          const doc = (await t.http.get(pathOf(res.headers.location)).set(auth(project, 'push'))).body;
          return doc.status === 'Complete' || doc.status === 'Failed' ? doc : null;
        },
        60_000,
      );
      expect([final.status, final.error, final.importedEvents, final.duplicateEvents, final.eventErrors, final.percentComplete]).toEqual([
        'Complete',
        null,
        LINES,
        0,
        [],
        100,
      ]);
      const [counts] = await db.query(
        `SELECT count(*)::int AS events, count(DISTINCT properties->'n')::int AS distinct_n FROM events WHERE project_id = $1 AND collection = $2`,
        [project.projectId, collection],
      );
      expect(counts).toEqual({ events: LINES, distinct_n: LINES });
      const [record] = await db.query('SELECT attempts, line_index FROM event_imports WHERE id = $1', [id]);
      expect(record.attempts).toBe(2);
      expect(Number(record.line_index)).toBe(LINES);
    },
    120_000,
  );
});
