import { AbortMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { ExportStatus, pathOf, waitForExport } from './support/exports';
import { startTestRedis, TestRedis } from './support/redis-server';
import { expectNoIncompleteUploads, S3FaultRule, startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TEST_SECRETS_KEY, TestApp } from './support/test-app';
import { loadOrders } from './support/bulk-load';

/**
 * Kill points of an S3 export (docs/exports.md, "Parts and resuming"): a separate worker process
 * (ROLE=worker), as an operator would run one, is SIGKILLed at a chosen moment of the export; a
 * second worker takes the export over from its checkpoint. Each kill point proves that the export
 * ends Complete, byte-identical to an uninterrupted export of the same events (SHA-256, and the
 * manifest's sha256/bytes/events), that no part recorded as acknowledged before the kill is sent
 * again, that progress read after the restart never goes below what was read before, that it took
 * exactly 2 attempts, and that no multipart upload is left open.
 */

const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');
const EVENTS = 250_000;
const BUCKET = 'crash';
/** 5 MiB, S3's minimum part: 250,000 events of ~290 bytes make 13 parts. */
const PART_SIZE = 5 * 1024 * 1024;

interface PartRow {
  partNumber: number;
  uploadId: string;
  bytes: number;
  isLast: boolean;
}

/** What an uninterrupted export of the same events wrote. */
interface Reference {
  sha256: string;
  bytes: number;
  parts: number;
}

/** A worker that uploads 4 parts at once: the second worker of each kill point, and where the kill point does not need 1. */
const FAST = { EXPORT_QUEUE_SIZE: '4' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` every `intervalMs` until it returns a value (not undefined), for up to `timeoutMs`. */
async function until<T>(what: string, read: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

describe('an export whose worker dies mid-way', () => {
  let redis: TestRedis;
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  let reference: Reference;
  const workers = new Set<ChildProcess>();

  /** A ROLE=worker process of dist/src/main.js on this test's PostgreSQL database, Redis and queue. */
  function startWorker(env: Record<string, string> = {}): ChildProcess {
    const worker = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        ROLE: 'worker',
        DATABASE_URL: t.config.database.url,
        REDIS_URL: redis.url,
        QUEUE_PREFIX: t.config.redis.queuePrefix,
        SECRETS_KEY: TEST_SECRETS_KEY,
        S3_ALLOWED_ENDPOINTS: s3.endpoint,
        // A dead worker's job is taken over about 2 s after the kill.
        EXPORT_LOCK_DURATION_MS: '2000',
        EXPORT_STALLED_INTERVAL_MS: '1000',
        EXPORT_PART_SIZE_BYTES: String(PART_SIZE),
        EXPORT_QUEUE_SIZE: '1',
        EXPORT_CONCURRENCY: '2',
        // A stalled S3 request holds the attempt until the test kills it, rather than being retried.
        EXPORT_STALL_TIMEOUT_MS: '60000',
        EXPORT_S3_REQUEST_TIMEOUT_MS: '60000',
        EXPORT_SWEEP_INTERVAL_MS: '30000',
        ...env,
      },
      // WORKER_LOG=<file>: the workers' logs are appended there.
      stdio: ['ignore', process.env.WORKER_LOG ? openSync(process.env.WORKER_LOG, 'a') : 'ignore', 'inherit'],
    });
    workers.add(worker);
    worker.once('exit', () => workers.delete(worker));
    return worker;
  }

  async function kill(worker: ChildProcess): Promise<void> {
    if (worker.exitCode !== null || worker.signalCode !== null) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
  }

  const db = () => t.app.get(DataSource);
  const idOf = (filename: string) => filename.replace(/\.json$/, '');

  async function createExport(): Promise<{ id: string; monitor: string }> {
    const res = await t.http
      .post('/events/orders/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/${BUCKET}/runs/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    return { id: idOf(res.body.filename), monitor: pathOf(res.headers.location) };
  }

  async function monitorOf(path: string): Promise<ExportStatus> {
    const res = await t.http.get(path).set(auth(project, 'query'));
    expect(res.status).toBe(200);
    return res.body as ExportStatus;
  }

  async function partRows(id: string): Promise<PartRow[]> {
    const rows: Array<{ part_number: number; upload_id: string; bytes: string; is_last: boolean }> = await db().query(
      'SELECT part_number, upload_id, bytes, is_last FROM export_parts WHERE export_id = $1 ORDER BY part_number',
      [id],
    );
    return rows.map((r) => ({ partNumber: r.part_number, uploadId: r.upload_id, bytes: Number(r.bytes), isLast: r.is_last }));
  }

  async function uploadIdOf(id: string): Promise<string | null> {
    const [row] = await db().query('SELECT upload_id FROM exports WHERE id = $1', [id]);
    return row?.upload_id ?? null;
  }

  /** The finished object: its bytes, checked against the monitor and the manifest. */
  async function checkObject(id: string, final: ExportStatus): Promise<{ sha256: string; bytes: number }> {
    expect({ status: final.status, error: final.error, percentDone: final.percentDone }).toEqual({
      status: 'Complete',
      error: null,
      percentDone: 100,
    });
    const object = await s3.getObject(BUCKET, `runs/${id}.json`);
    const sha256 = createHash('sha256').update(object).digest('hex');
    expect(final.totalBytes).toBe(object.length);
    expect(final.transferredBytes).toBe(object.length);
    const manifest = JSON.parse((await s3.getObject(BUCKET, `runs/${id}.manifest.json`)).toString('utf8'));
    expect({ exportId: manifest.exportId, sha256: manifest.sha256, bytes: manifest.bytes, events: manifest.events }).toEqual({
      exportId: id,
      sha256,
      bytes: object.length,
      events: EVENTS,
    });
    expect(manifest.files).toEqual([expect.objectContaining({ key: `runs/${id}.json`, sha256, bytes: object.length, events: EVENTS })]);
    return { sha256, bytes: object.length };
  }

  /**
   * What a kill point checks once the second worker finished: (a) Complete, (b) byte-identical to
   * the reference, (c) no part acknowledged before the kill sent again, (d) progress never below what
   * was read before the kill, (e) 2 attempts, (f) no incomplete upload.
   */
  async function expectResumed(args: {
    id: string;
    monitor: string;
    before: ExportStatus[];
    /** Parts S3 answered 2xx before the kill (uploadPartRequests). */
    acknowledged: Set<number>;
    /** Parts recorded in export_parts when the worker was dead. */
    checkpointed: PartRow[];
    /** requestLog().length when the worker was dead: requests from there on came after the kill. */
    logMark: number;
    /** The dead worker's EXPORT_QUEUE_SIZE. */
    queueSize: number;
  }): Promise<void> {
    const { final, readings } = await waitForExport(t.http, args.monitor, auth(project, 'query'), 60_000, 50);
    // (a), (b)
    const object = await checkObject(args.id, final);
    expect(object).toEqual({ sha256: reference.sha256, bytes: reference.bytes });

    // (c) Every recorded part had been acknowledged by S3, and none of them was sent again; a part
    // S3 acknowledged but the dead worker had not yet recorded was still in flight for it (it may
    // be sent again: the worker never learned of its ETag).
    const checkpointed = new Set(args.checkpointed.map((p) => p.partNumber));
    for (const part of checkpointed) expect(args.acknowledged).toContain(part);
    const key = `runs/${args.id}.json`;
    const after = s3
      .requestLog()
      .slice(args.logMark)
      .filter((r) => r.operation === 'UploadPart' && r.key === key);
    const resent = [...new Set(after.map((r) => r.partNumber!))].sort((a, b) => a - b);
    const inFlightAtKill = [...args.acknowledged].filter((n) => !checkpointed.has(n));
    expect(resent.filter((n) => checkpointed.has(n))).toEqual([]);
    expect(inFlightAtKill.length).toBeLessThanOrEqual(args.queueSize); // at most EXPORT_QUEUE_SIZE parts are in flight
    if (inFlightAtKill.length === 0) expect(resent.filter((n) => args.acknowledged.has(n))).toEqual([]);
    // ... and exactly the parts not recorded were sent after the kill, and acknowledged, in the same
    // upload (a request the second worker itself retried counts once).
    const all = Array.from({ length: reference.parts }, (_, i) => i + 1);
    expect(resent).toEqual(all.filter((n) => !checkpointed.has(n)));
    const acknowledgedAfter = new Set(after.filter((r) => r.status !== null && r.status >= 200 && r.status < 300).map((r) => r.partNumber));
    expect([...acknowledgedAfter].sort((a, b) => a! - b!)).toEqual(resent);
    const uploadIds = new Set(
      s3
        .requestLog()
        .filter((r) => r.operation === 'UploadPart' && r.key === key)
        .map((r) => r.uploadId),
    );
    expect(uploadIds.size).toBe(1);

    // (d) Progress read after the restart never goes below progress read before the kill.
    const floor = {
      percentDone: Math.max(...args.before.map((r) => r.percentDone)),
      transferredBytes: Math.max(...args.before.map((r) => r.transferredBytes)),
    };
    const lowest = {
      percentDone: Math.min(...readings.map((r) => r.percentDone)),
      transferredBytes: Math.min(...readings.map((r) => r.transferredBytes)),
    };
    expect(lowest.percentDone).toBeGreaterThanOrEqual(floor.percentDone);
    expect(lowest.transferredBytes).toBeGreaterThanOrEqual(floor.transferredBytes);

    // (e), and the credentials are wiped, the checkpoint gone.
    const [row] = await db().query('SELECT attempts, upload_id, s3_credentials_encrypted FROM exports WHERE id = $1', [args.id]);
    expect(row).toEqual({ attempts: 2, upload_id: null, s3_credentials_encrypted: null });
    expect(await partRows(args.id)).toEqual([]);
    // (f)
    await expectNoIncompleteUploads(s3, { bucket: BUCKET, timeoutMs: 5000 });
  }

  beforeAll(async () => {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
    }
    // A Redis of the test's own: one test empties it (FLUSHALL).
    [redis, s3] = await Promise.all([startTestRedis(), startS3Server({ buckets: [BUCKET] })]);
    t = await startTestApp({ ROLE: 'api', REDIS_URL: redis.url, S3_ALLOWED_ENDPOINTS: s3.endpoint });
    project = await t.createProject();
    // Stored straight through SQL: this test is about the worker, and pushing 250,000 events
    // through HTTP is covered (more slowly) elsewhere. Ids 1..N in timestamp order.
    // Test data loaded past the app's QUERY_STATEMENT_TIMEOUT_MS (a bulk insert, not an API statement).
    await loadOrders(t.config.database.url, project.projectId, EVENTS);
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) await kill(worker);
    await t?.close();
    await s3?.close();
    await redis?.kill();
  });

  afterEach(async () => {
    s3.clearFaults();
    for (const worker of workers) await kill(worker); // idle by now, unless the test failed
    // After a failed test: its export must not run on in the next test's worker, nor its upload stay open.
    await db().query(`UPDATE exports SET status = 'Failed', finished_at = now() WHERE status IN ('Pending', 'Running')`);
    const client = new S3Client(s3.clientConfig());
    try {
      for (const upload of await s3.incompleteUploads(BUCKET)) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: upload.key, UploadId: upload.uploadId }));
      }
    } finally {
      client.destroy();
    }
  });

  it('an uninterrupted export (the reference): every event once, in order, in 10+ parts', async () => {
    startWorker(FAST);
    const { id, monitor } = await createExport();
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 60_000, 100);
    const object = await checkObject(id, final);
    const text = (await s3.getObject(BUCKET, `runs/${id}.json`)).toString('utf8');
    const ids = text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line).id as number);
    expect(ids.length).toBe(EVENTS);
    for (let i = 0; i < EVENTS; i++) {
      if (ids[i] !== i + 1) throw new Error(`line ${i} holds event ${ids[i]}, expected ${i + 1}`);
    }
    const parts = s3.uploadPartRequests().filter((p) => p.key === `runs/${id}.json`);
    expect(parts.length).toBeGreaterThanOrEqual(10);
    expect(parts.every((p) => p.requests === 1 && p.succeeded === 1)).toBe(true);
    const [row] = await db().query('SELECT attempts FROM exports WHERE id = $1', [id]);
    expect(row.attempts).toBe(1);
    reference = { ...object, parts: parts.length };
  }, 60_000);

  /**
   * A kill point: `faults` are in place when the first worker starts (cleared before the second); `killWhen` polls (every 10 ms)
   * until it is time to kill, given the export's part rows and its S3 part requests; `atKill` checks
   * the state the dead worker left.
   */
  interface KillPoint {
    name: string;
    env?: Record<string, string>;
    faults: S3FaultRule[];
    killWhen: (state: { status: ExportStatus; rows: PartRow[]; requests: ReturnType<TestS3Server['uploadPartRequests']> }) => boolean;
    atKill: (state: { status: ExportStatus; rows: PartRow[]; acknowledged: Set<number> }) => void;
  }

  const killPoints: KillPoint[] = [
    {
      name: '0 %: the worker took the job and sent part 1 (stalled), no part acknowledged',
      faults: [{ operation: 'UploadPart', partNumber: 1, fault: { stall: true } }],
      killWhen: ({ status, requests }) => status.status === 'Running' && requests.some((p) => p.partNumber === 1),
      atKill: ({ status, rows, acknowledged }) => {
        expect(rows).toEqual([]);
        expect(acknowledged.size).toBe(0);
        expect(status).toMatchObject({ status: 'Running', percentDone: 0, transferredBytes: 0, totalBytes: reference.bytes });
      },
    },
    {
      name: 'mid-part: part 4 stalled in flight, parts 1–3 acknowledged',
      faults: [{ operation: 'UploadPart', partNumber: 4, fault: { stall: true } }],
      killWhen: ({ rows, requests }) => rows.length === 3 && requests.some((p) => p.partNumber === 4),
      atKill: ({ rows, acknowledged }) => {
        expect(rows.map((r) => r.partNumber)).toEqual([1, 2, 3]);
        expect([...acknowledged].sort((a, b) => a - b)).toEqual([1, 2, 3]);
      },
    },
    {
      name: 'mid-part with 4 parts at once: parts 3 and 7–9 stalled in flight, 1, 2 and 4–6 acknowledged (a gap, then the rest)',
      env: { EXPORT_QUEUE_SIZE: '4' },
      faults: [3, 7, 8, 9].map((partNumber) => ({ operation: 'UploadPart' as const, partNumber, fault: { stall: true } })),
      // With all four slots held by stalled parts, the worker reads no further: nothing moves until the kill.
      killWhen: ({ rows, requests }) => rows.length === 5 && [7, 8, 9].every((n) => requests.some((p) => p.partNumber === n)),
      atKill: ({ rows, acknowledged }) => {
        expect(rows.map((r) => r.partNumber)).toEqual([1, 2, 4, 5, 6]);
        expect([...acknowledged].sort((a, b) => a - b)).toEqual([1, 2, 4, 5, 6]);
      },
    },
    {
      name: 'between parts: right after part 5 was recorded',
      faults: [],
      killWhen: ({ rows }) => rows.length >= 5,
      atKill: ({ rows }) => {
        // Part 6 was in flight; it may have been recorded between the last poll and the kill.
        expect([
          [1, 2, 3, 4, 5],
          [1, 2, 3, 4, 5, 6],
        ]).toContainEqual(rows.map((r) => r.partNumber));
      },
    },
    {
      name: 'after the last part: every part acknowledged, CompleteMultipartUpload stalled',
      env: FAST,
      faults: [{ operation: 'CompleteMultipartUpload', fault: { stall: true } }],
      // The last part is the smallest and may be acknowledged before the parts in flight with it.
      killWhen: ({ rows }) => rows.length === reference.parts,
      atKill: ({ status, rows, acknowledged }) => {
        expect(rows.map((r) => r.partNumber)).toEqual(Array.from({ length: reference.parts }, (_, i) => i + 1));
        expect(acknowledged.size).toBe(reference.parts);
        expect(status).toMatchObject({
          status: 'Running',
          percentDone: 99.9,
          transferredBytes: reference.bytes,
          totalBytes: reference.bytes,
        });
      },
    },
  ];

  it.each(killPoints.map((k) => [k.name, k] as const))(
    'kill point %s',
    async (_name, point) => {
      expect(reference).toBeDefined();
      s3.injectFaults(point.faults);
      const first = startWorker(point.env);
      const { id, monitor } = await createExport();
      const key = `runs/${id}.json`;
      const before: ExportStatus[] = [];
      await until(`the kill point (${point.name})`, async () => {
        const status = await monitorOf(monitor);
        expect(['Pending', 'Running']).toContain(status.status);
        before.push(status);
        const rows = await partRows(id);
        const requests = s3.uploadPartRequests().filter((p) => p.key === key);
        return point.killWhen({ status, rows, requests }) ? true : undefined;
      });
      await kill(first);
      const logMark = s3.requestLog().length;
      const uploadId = await uploadIdOf(id);
      expect(uploadId).not.toBeNull();
      const acknowledged = new Set(
        s3
          .uploadPartRequests(uploadId!)
          .filter((p) => p.succeeded > 0)
          .map((p) => p.partNumber),
      );
      const checkpointed = await partRows(id);
      const atKill = await monitorOf(monitor);
      before.push(atKill);
      expect(atKill.status).toBe('Running');
      expect(atKill.percentDone).toBeLessThan(100);
      expect(atKill.transferredBytes).toBe(checkpointed.reduce((sum, p) => sum + p.bytes, 0));
      point.atKill({ status: atKill, rows: checkpointed, acknowledged });

      s3.clearFaults();
      startWorker(FAST);
      await expectResumed({
        id,
        monitor,
        before,
        acknowledged,
        checkpointed,
        logMark,
        queueSize: Number(point.env?.EXPORT_QUEUE_SIZE ?? 1),
      });
    },
    60_000,
  );

  it('kill point upload created: S3 answered CreateMultipartUpload, the worker died before recording the upload id', async () => {
    expect(reference).toBeDefined();
    // CreateMultipartUpload is held 1 s, time to freeze the worker (SIGSTOP) while S3 has not answered;
    // S3 then creates the upload and answers a worker that can no longer read it; SIGKILL.
    s3.injectFaults([{ operation: 'CreateMultipartUpload', fault: { delayMs: 1000 } }]);
    const first = startWorker();
    const { id, monitor } = await createExport();
    const key = `runs/${id}.json`;
    const create = () => s3.requestLog().find((r) => r.operation === 'CreateMultipartUpload' && r.key === key);
    await until('CreateMultipartUpload sent', () => (create() ? true : undefined), 30_000, 5);
    first.kill('SIGSTOP');
    await until('CreateMultipartUpload answered', () => (create()?.status === 200 ? true : undefined));
    expect(await s3.incompleteUploads(BUCKET)).toEqual([expect.objectContaining({ key, parts: 0 })]);
    const before = [await monitorOf(monitor)];
    await kill(first);
    const logMark = s3.requestLog().length;
    expect(await uploadIdOf(id)).toBeNull(); // the upload exists in S3 only
    expect(before[0]).toMatchObject({ status: 'Running', percentDone: 0, transferredBytes: 0 });

    s3.clearFaults();
    startWorker(FAST);
    await expectResumed({ id, monitor, before, acknowledged: new Set(), checkpointed: [], logMark, queueSize: 1 });
  }, 60_000);

  it('Redis loses the job mid-export (FLUSHALL): the sweep queues it again and it completes from its checkpoint', async () => {
    expect(reference).toBeDefined();
    // Part 4 stalls, so the export is Running with parts 1–3 acknowledged when Redis is emptied.
    s3.injectFaults([{ operation: 'UploadPart', partNumber: 4, fault: { stall: true } }]);
    startWorker({ EXPORT_SWEEP_INTERVAL_MS: '300' });
    const { id, monitor } = await createExport();
    const key = `runs/${id}.json`;
    const before: ExportStatus[] = [];
    await until('parts 1-3 acknowledged and part 4 in flight', async () => {
      before.push(await monitorOf(monitor));
      const rows = await partRows(id);
      return rows.length === 3 && s3.uploadPartRequests().some((p) => p.key === key && p.partNumber === 4) ? true : undefined;
    });
    const admin = new Redis(redis.url);
    try {
      expect(await admin.keys(`${t.config.redis.queuePrefix}:*${id}*`)).not.toEqual([]);
      await admin.flushall();
      expect(await admin.dbsize()).toBe(0);
    } finally {
      await admin.quit();
    }
    const logMark = s3.requestLog().length;
    const uploadId = await uploadIdOf(id);
    const acknowledged = new Set(
      s3
        .uploadPartRequests(uploadId!)
        .filter((p) => p.succeeded > 0)
        .map((p) => p.partNumber),
    );
    const checkpointed = await partRows(id);
    expect(checkpointed.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect([...acknowledged].sort((a, b) => a - b)).toEqual([1, 2, 3]);
    before.push(await monitorOf(monitor));
    s3.clearFaults();
    // The same worker's sweep (every 300 ms) finds the Running export without a job and queues it;
    // the new attempt (2) takes over, the stalled one (1) learns it was superseded and stops.
    await expectResumed({ id, monitor, before, acknowledged, checkpointed, logMark, queueSize: 1 });
  }, 60_000);

  it('events deleted between attempts: the rest no longer adds up to the measured size, so the part the stream ends with is marked last', async () => {
    // Ids 1..100,000 (about 6 parts); after parts 1–3 are recorded the worker dies, and the events past id 90,000 are deleted.
    await loadOrders(t.config.database.url, project.projectId, 100_000, 'shrinking');
    s3.injectFaults([{ operation: 'UploadPart', partNumber: 4, fault: { stall: true } }]);
    const first = startWorker();
    const res = await t.http
      .post('/events/shrinking/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/${BUCKET}/shrinking/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    const id = idOf(res.body.filename);
    const monitor = pathOf(res.headers.location);
    await until('parts 1-3 recorded and part 4 in flight', async () => {
      const rows = await partRows(id);
      const sent = s3.uploadPartRequests().some((p) => p.key === `shrinking/${id}.json` && p.partNumber === 4);
      return rows.length === 3 && sent ? true : undefined;
    });
    await kill(first);
    const measured = (await monitorOf(monitor)).totalBytes;
    await db().query(`DELETE FROM events WHERE project_id = $1 AND collection = 'shrinking' AND (event_id #>> '{}')::int > 90000`, [
      project.projectId,
    ]);

    s3.clearFaults();
    startWorker(FAST);
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 60_000, 50);
    expect({ status: final.status, error: final.error, percentDone: final.percentDone }).toEqual({
      status: 'Complete',
      error: null,
      percentDone: 100,
    });
    const object = await s3.getObject(BUCKET, `shrinking/${id}.json`);
    const ids = object
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    expect(ids).toEqual(Array.from({ length: 90_000 }, (_, i) => i + 1));
    expect(object.length).toBeLessThan(measured);
    expect({ transferredBytes: final.transferredBytes, totalBytes: final.totalBytes }).toEqual({
      transferredBytes: object.length,
      totalBytes: object.length,
    });
    const manifest = JSON.parse((await s3.getObject(BUCKET, `shrinking/${id}.manifest.json`)).toString('utf8'));
    expect({ events: manifest.events, bytes: manifest.bytes, sha256: manifest.sha256 }).toEqual({
      events: 90_000,
      bytes: object.length,
      sha256: createHash('sha256').update(object).digest('hex'),
    });
    await expectNoIncompleteUploads(s3, { bucket: BUCKET, timeoutMs: 5000 });
  }, 60_000);
});
