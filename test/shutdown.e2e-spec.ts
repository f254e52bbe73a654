import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { EXPORT_QUEUE } from '../src/exports/exports.constants';
import { IMPORT_QUEUE } from '../src/imports/imports.constants';
import type { CreatedProject } from '../src/projects/projects.service';
import { bulkLoad, loadOrders } from './support/bulk-load';
import { freePort } from './support/ports';
import { pathOf, until, waitForExport } from './support/exports';
import { expectNoIncompleteUploads, startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TEST_ADMIN_TOKEN, TEST_SECRETS_KEY, TestApp } from './support/test-app';

/**
 * Graceful shutdown (docs/shutdown.md) of real processes, started as an operator starts them
 * (`npm start`, `npm run start:worker`, `node dist/src/main.js`), each in a process group of its own
 * so that a process left behind (npm's shell wrapper once orphaned the service) is seen: SIGTERM
 * lets requests in flight finish and exits 0 within SHUTDOWN_GRACE_MS with nothing left running or
 * listening; a worker stopped mid-export or mid-import releases its job at a checkpoint, and another
 * worker finishes it at once, nothing sent twice, no attempt counted or failed.
 */

const ROOT = join(__dirname, '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const BUCKET = 'shutdown';
/** 5 MiB, S3's minimum part: 100,000 events of ~290 bytes make 6 parts. */
const PART_SIZE = 5 * 1024 * 1024;
const EXPORT_EVENTS = 100_000;
const BIG_EVENTS = 10_000;
const IMPORT_LINES = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether any process is left in process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A service process in a process group of its own, its output (stdout and stderr) collected. */
interface Service {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

describe('graceful shutdown', () => {
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  const services = new Set<Service>();

  function start(command: string, args: string[], env: Record<string, string>): Service {
    const child = spawn(command, args, {
      cwd: ROOT,
      detached: true, // a process group of its own: the test sees what is left of it
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        DATABASE_URL: t.config.database.url,
        REDIS_URL: t.config.redis.url,
        QUEUE_PREFIX: t.config.redis.queuePrefix,
        SECRETS_KEY: TEST_SECRETS_KEY,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        S3_ALLOWED_ENDPOINTS: s3.endpoint,
        HOST: '127.0.0.1',
        EXPORT_PART_SIZE_BYTES: String(PART_SIZE),
        EXPORT_SWEEP_INTERVAL_MS: '60000',
        ...env,
      },
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const service: Service = {
      child,
      output: () => text,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }))),
    };
    services.add(service);
    void service.exited.then(() => services.delete(service));
    return service;
  }

  const startWorker = (env: Record<string, string> = {}) => start(process.execPath, [MAIN], { ROLE: 'worker', ...env });

  async function waitForLog(service: Service, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    await until(
      `log line ${pattern}`,
      async () => pattern.test(service.output()) || (service.child.exitCode !== null && 'exited'),
      timeoutMs,
    );
    if (!pattern.test(service.output())) throw new Error(`exited without logging ${pattern}:\n${service.output()}`);
  }

  /** The process group is empty and nothing listens on `port` (within 2 s of the exit). */
  async function expectNothingLeft(service: Service, port?: number): Promise<void> {
    await until('the process group to be empty', async () => !groupAlive(service.child.pid!), 2000).catch(() => undefined);
    expect(groupAlive(service.child.pid!)).toBe(false);
    if (port !== undefined) expect(await listening(port)).toBe(false);
  }

  const db = () => t.app.get(DataSource);

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
    s3 = await startS3Server({ buckets: [BUCKET] });
    // The API alone, in this process: jobs run only in the workers the tests start and stop.
    t = await startTestApp({ ROLE: 'api', S3_ALLOWED_ENDPOINTS: s3.endpoint });
    project = await t.createProject();
    await loadOrders(t.config.database.url, project.projectId, EXPORT_EVENTS);
    // 10,000 events of 2 KB: a small export of 20 MB, far more than socket buffers hold.
    await bulkLoad(
      t.config.database.url,
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
         SELECT $1, 'big', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second',
                jsonb_build_object('n', n, 'note', repeat('x', 2000))
           FROM generate_series(1, $2::int) AS n`,
      [project.projectId, BIG_EVENTS],
    );
  }, 120_000);

  afterEach(async () => {
    s3.clearFaults();
    for (const service of services) {
      if (groupAlive(service.child.pid!)) process.kill(-service.child.pid!, 'SIGKILL');
      await service.exited;
    }
  });

  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  it('npm start: SIGTERM lets a small export being streamed finish, refuses new connections, exits 0, leaves nothing', async () => {
    const port = await freePort();
    const service = start('npm', ['start'], { ROLE: 'all', PORT: String(port), SHUTDOWN_GRACE_MS: '15000' });
    await waitForLog(service, /listening on 127\.0\.0\.1 port/);

    // A slow client: reads the first chunk, then nothing until after the SIGTERM.
    let response!: http.IncomingMessage;
    const chunks: Buffer[] = [];
    const body = new Promise<string>((resolve, reject) => {
      const request = http.get(`http://127.0.0.1:${port}/events/big/export`, { headers: auth(project, 'query') }, (res) => {
        response = res;
        res.once('data', (chunk: Buffer) => {
          chunks.push(chunk);
          res.pause();
          res.on('data', (more: Buffer) => chunks.push(more));
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      });
      request.on('error', reject);
    });
    await until('the first chunk of the export', async () => chunks.length > 0, 30_000);

    const signalledAt = Date.now();
    service.child.kill('SIGTERM'); // npm's process, as a supervisor sends it
    await waitForLog(service, /in-flight requests: 1/, 10_000);
    expect(await listening(port)).toBe(false);
    await sleep(1000); // the request is still in flight: the process waits for it
    expect(service.child.exitCode).toBeNull();
    response.resume();

    const text = await body;
    expect(response.statusCode).toBe(200);
    const results = (JSON.parse(text) as { results: Array<{ n: number }> }).results;
    expect(results).toHaveLength(BIG_EVENTS);
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: BIG_EVENTS }, (_, i) => i + 1));

    const exit = await service.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(15_000);
    expect(service.output()).toMatch(/\[Shutdown\] stopping \(SIGTERM\)/);
    expect(service.output()).toMatch(/in-flight requests finished/);
    expect(service.output()).toMatch(/exited \(0\) after \d+ ms/);
    await expectNothingLeft(service, port);
  }, 90_000);

  it('node dist/src/main.js: a second SIGTERM exits at once, cutting the request still in flight', async () => {
    const port = await freePort();
    const service = start(process.execPath, [MAIN], { ROLE: 'api', PORT: String(port), SHUTDOWN_GRACE_MS: '30000' });
    await waitForLog(service, /listening on 127\.0\.0\.1 port/);
    let response: http.IncomingMessage | null = null;
    const ended = new Promise<string>((resolve) => {
      const request = http.get(`http://127.0.0.1:${port}/events/big/export`, { headers: auth(project, 'query') }, (res) => {
        res.once('data', () => ((response = res), res.pause()));
        res.on('end', () => resolve('end'));
        res.on('error', () => resolve('cut'));
        res.on('close', () => resolve(res.complete ? 'end' : 'cut'));
      });
      request.on('error', () => resolve('cut'));
    });
    await until('the first chunk of the export', async () => response !== null, 30_000);
    service.child.kill('SIGTERM');
    await waitForLog(service, /in-flight requests: 1/, 10_000);
    await sleep(700); // later than the repeat window: a second request to stop
    const second = Date.now();
    service.child.kill('SIGTERM');
    const exit = await service.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - second).toBeLessThan(3000);
    response!.resume(); // a paused socket does not see its connection close
    expect(await ended).toBe('cut');
    expect(service.output()).toMatch(/second signal \(SIGTERM\): exiting at once; closed 1 request\(s\) in flight/);
    await expectNothingLeft(service, port);
  }, 60_000);

  /** A reference export of the orders by an uninterrupted worker (`npm run start:worker`, stopped idle afterwards). */
  let reference: { sha256: string; bytes: number; parts: number };

  async function createExport(): Promise<{ id: string; monitor: string }> {
    const res = await t.http
      .post('/events/orders/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/${BUCKET}/runs/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    return { id: res.body.filename.replace(/\.json$/, ''), monitor: pathOf(res.headers.location) };
  }

  it('npm run start:worker: an uninterrupted export (the reference), then SIGTERM to the idle worker exits 0 at once', async () => {
    const worker = start('npm', ['run', 'start:worker'], { EXPORT_QUEUE_SIZE: '4' });
    await waitForLog(worker, /export worker started/);
    const { id, monitor } = await createExport();
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 60_000, 100);
    expect(final.status).toBe('Complete');
    const object = await s3.getObject(BUCKET, `runs/${id}.json`);
    const parts = s3.uploadPartRequests().filter((p) => p.key === `runs/${id}.json`);
    expect(parts.length).toBeGreaterThanOrEqual(5);
    reference = { sha256: createHash('sha256').update(object).digest('hex'), bytes: object.length, parts: parts.length };

    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(5000);
    expect(worker.output()).toMatch(/stopped taking jobs; running: none/);
    await expectNothingLeft(worker);
  }, 90_000);

  it('SIGTERM to a worker mid-export: it releases the job at a checkpoint; another worker finishes it at once, nothing sent twice', async () => {
    expect(reference).toBeDefined();
    const exportQueue = t.app.get<Queue>(getQueueToken(EXPORT_QUEUE));
    // Each part takes 2 s to be answered: the 6 parts take 12 s, so the export is still mid-way at the release.
    s3.injectFaults([{ operation: 'UploadPart', fault: { delayMs: 2000 } }]);
    const logMark = s3.requestLog().length;
    // The grace's first half (4 s) to finish, then the release: the part in flight (2 s at most) is answered and recorded.
    const first = startWorker({ EXPORT_QUEUE_SIZE: '1', SHUTDOWN_GRACE_MS: '8000' });
    await waitForLog(first, /export worker started/);
    const { id, monitor } = await createExport();
    const key = `runs/${id}.json`;
    const partRows = async () =>
      (await db().query('SELECT part_number FROM export_parts WHERE export_id = $1 ORDER BY part_number', [id])).map(
        (r: { part_number: number }) => r.part_number,
      ) as number[];
    await until('part 1 recorded', async () => (await partRows()).length >= 1, 30_000);

    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(8000);
    expect(first.output()).toMatch(new RegExp(`running: export job ${id}`));
    expect(first.output()).toMatch(new RegExp(`released export job ${id}; another worker continues it from its checkpoint`));

    // Released, not failed: the job waits in Redis untouched (no attempt made, no stall, no lock), the export is Running and its attempt uncounted.
    const job = await exportQueue.getJob(id);
    expect(await job!.getState()).toBe('waiting');
    expect({ attemptsMade: job!.attemptsMade, failedReason: job!.failedReason ?? null }).toEqual({ attemptsMade: 0, failedReason: null });
    expect(await exportQueue.client.exists(`${t.config.redis.queuePrefix}:${EXPORT_QUEUE}:${id}:lock`)).toBe(0);
    expect(await exportQueue.client.hget(`${t.config.redis.queuePrefix}:${EXPORT_QUEUE}:${id}`, 'stalledCounter')).toBeNull();
    const [row] = await db().query('SELECT status, attempts FROM exports WHERE id = $1', [id]);
    expect(row).toEqual({ status: 'Running', attempts: 0 });
    // Every part S3 acknowledged was recorded (none was cut off in flight), and the export is mid-way.
    const recorded = await partRows();
    const acknowledged = s3
      .requestLog()
      .slice(logMark)
      .filter((r) => r.operation === 'UploadPart' && r.key === key && r.status === 200)
      .map((r) => r.partNumber);
    expect(acknowledged).toEqual(recorded);
    expect(recorded.length).toBeGreaterThanOrEqual(1);
    expect(recorded.length).toBeLessThan(reference.parts);

    // The next worker takes it at once: well before a lost lock (EXPORT_LOCK_DURATION_MS, 30 s) would let it.
    s3.clearFaults();
    const second = startWorker({ EXPORT_QUEUE_SIZE: '4', EXPORT_LOCK_DURATION_MS: '30000', EXPORT_STALLED_INTERVAL_MS: '15000' });
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 20_000, 100);
    expect({ status: final.status, error: final.error }).toEqual({ status: 'Complete', error: null });
    expect(second.output()).toMatch(new RegExp(`export ${id}: resuming after ${recorded.length} acknowledged part`));
    const object = await s3.getObject(BUCKET, key);
    expect({ sha256: createHash('sha256').update(object).digest('hex'), bytes: object.length }).toEqual({
      sha256: reference.sha256,
      bytes: reference.bytes,
    });
    // Each part was sent once, all into one upload.
    const uploads = s3
      .requestLog()
      .slice(logMark)
      .filter((r) => r.operation === 'UploadPart' && r.key === key);
    expect(uploads.map((r) => r.partNumber).sort((a, b) => a! - b!)).toEqual(Array.from({ length: reference.parts }, (_, i) => i + 1));
    expect(new Set(uploads.map((r) => r.uploadId)).size).toBe(1);
    // One attempt counted in all (the second worker's); Bull failed nothing.
    expect((await db().query('SELECT attempts FROM exports WHERE id = $1', [id]))[0].attempts).toBe(1);
    expect(await exportQueue.getFailedCount()).toBe(0);
    await expectNoIncompleteUploads(s3, { bucket: BUCKET, timeoutMs: 5000 });
  }, 90_000);

  it('SIGTERM to a worker mid-import: it releases the job after a commit; another worker continues after it, every line stored once', async () => {
    const importQueue = t.app.get<Queue>(getQueueToken(IMPORT_QUEUE));
    const collection = 'shutdown_import';
    // No ids: a line stored twice would be two events.
    const text = Array.from({ length: IMPORT_LINES }, (_, i) => JSON.stringify({ n: i, note: 'an event without an id' })).join('\n');
    const client = new S3Client(s3.clientConfig());
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${collection}.json`, Body: Buffer.from(text) }));
    client.destroy();
    // Small batches: many commits, so that the import is mid-way when the grace's first half (1 s) is over.
    const first = startWorker({ IMPORT_BATCH_LINES: '100', SHUTDOWN_GRACE_MS: '2000' });
    await waitForLog(first, /export worker started/);
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
    const id = res.headers.location.split('/').pop() as string;
    const position = async () => Number((await db().query('SELECT line_index FROM event_imports WHERE id = $1', [id]))[0].line_index);
    await until('the first worker to commit a batch', async () => (await position()) > 0, 30_000);

    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(2000);
    expect(first.output()).toMatch(new RegExp(`released import job ${id}; another worker continues it from its checkpoint`));
    const atRelease = await position();
    expect(atRelease).toBeGreaterThan(0);
    expect(atRelease).toBeLessThan(IMPORT_LINES);
    const job = await importQueue.getJob(id);
    expect(await job!.getState()).toBe('waiting');
    expect(job!.attemptsMade).toBe(0);
    const [stored] = await db().query(`SELECT count(*)::int AS n FROM events WHERE project_id = $1 AND collection = $2`, [
      project.projectId,
      collection,
    ]);
    expect(stored.n).toBe(atRelease); // what was committed, no more: the batch prepared at the release was not

    const second = startWorker({ EXPORT_LOCK_DURATION_MS: '30000', EXPORT_STALLED_INTERVAL_MS: '15000', IMPORT_BATCH_LINES: '5000' });
    const final = await until(
      'the import to finish',
      async () => {
        const doc = (await t.http.get(pathOf(res.headers.location)).set(auth(project, 'push'))).body;
        return doc.status === 'Complete' || doc.status === 'Failed' ? doc : null;
      },
      20_000,
    );
    expect([final.status, final.error, final.importedEvents, final.duplicateEvents, final.eventErrors]).toEqual([
      'Complete',
      null,
      IMPORT_LINES,
      0,
      [],
    ]);
    expect(second.output()).toMatch(new RegExp(`import ${id}: attempt 1\\b`));
    expect(second.output()).toMatch(new RegExp(`import ${id}: resuming at line ${atRelease} `));
    const [counts] = await db().query(
      `SELECT count(*)::int AS events, count(DISTINCT properties->'n')::int AS distinct_n FROM events WHERE project_id = $1 AND collection = $2`,
      [project.projectId, collection],
    );
    expect(counts).toEqual({ events: IMPORT_LINES, distinct_n: IMPORT_LINES });
    expect((await db().query('SELECT attempts FROM event_imports WHERE id = $1', [id]))[0].attempts).toBe(1);
    expect(await importQueue.getFailedCount()).toBe(0);
  }, 90_000);
});
