import dns from 'node:dns';
import { DataSource } from 'typeorm';
import { ecommerceEvents } from '../scripts/lib/ecommerce-events';
import type { CreatedProject } from '../src/projects/projects.service';
import { ExportStatus, pathOf, until, waitForExport } from './support/exports';
import { expectNoIncompleteUploads, S3FaultRule, startS3Server, TestS3Server } from './support/s3-server';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';
import { auth, startTestApp, TestApp } from './support/test-app';

/**
 * Faults during an S3 export (docs/exports.md, "Retries and stalls"): the export's PostgreSQL
 * connection killed, or silent, mid-export; S3 that stops answering. Each export still ends
 * Complete, byte-identical to an uninterrupted one, or Failed with a clear error once its retry
 * budget is spent. Everything the test breaks is its own: a proxy in front of PostgreSQL or S3.
 */
const EVENTS = 40_000;
const BUCKET = 'faults';
/** Small parts, one in flight: the export's COPY stays open while parts are acknowledged one by one. */
const PIPELINE = { EXPORT_PART_SIZE_BYTES: String(5 * 1024 * 1024), EXPORT_QUEUE_SIZE: '1' };
/** Quick retries and stall detection, so each fault resolves within seconds. */
const QUICK = {
  EXPORT_RETRY_BASE_DELAY_MS: '200',
  EXPORT_RETRY_MAX_DELAY_MS: '1000',
  EXPORT_STALL_TIMEOUT_MS: '2000',
  EXPORT_S3_REQUEST_TIMEOUT_MS: '2000',
};

describe('S3 export faults', () => {
  let s3: TestS3Server;
  let s3Proxy: TcpProxy;
  let pgProxy: TcpProxy;
  let t: TestApp;
  let project: CreatedProject;
  let db: DataSource;
  let reference: Buffer;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    s3Proxy = await startTcpProxy('127.0.0.1', s3.port);
    const url = new URL(process.env.DATABASE_URL!);
    pgProxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.hostname = '127.0.0.1';
    url.port = String(pgProxy.port);
    t = await startTestApp({
      S3_ALLOWED_ENDPOINTS: `${s3.endpoint},http://127.0.0.1:${s3Proxy.port}`,
      DATABASE_URL: url.toString(),
      ...PIPELINE,
      ...QUICK,
    });
    db = t.app.get(DataSource);
    project = await t.createProject();
    const events = [...ecommerceEvents(EVENTS, { seed: 11, end: new Date('2026-11-01T00:00:00Z'), days: 30 })];
    for (let i = 0; i < events.length; i += 5000) {
      await t.http
        .post('/events')
        .set(auth(project, 'push'))
        .send({ purchases: events.slice(i, i + 5000) })
        .expect(200);
    }
    const first = await exportVia(s3.endpoint);
    expect(first.final.status).toBe('Complete');
    reference = await s3.getObject(BUCKET, `out/${first.id}.json`);
    expect(reference.length).toBeGreaterThan(15 * 1024 * 1024); // at least four parts
  }, 120_000);
  afterAll(async () => {
    await pgProxy.restore();
    await s3Proxy.restore();
    await t.close();
    await Promise.all([pgProxy.close(), s3Proxy.close()]);
    await s3.close();
  });

  async function startExport(endpoint: string): Promise<{ id: string; monitor: string }> {
    const res = await t.http
      .post('/events/purchases/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${endpoint}/${BUCKET}/out/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    return { id: res.body.filename.slice(0, 24), monitor: pathOf(res.headers.location) };
  }
  async function exportVia(endpoint: string): Promise<{ id: string; final: ExportStatus }> {
    const { id, monitor } = await startExport(endpoint);
    return { id, final: (await waitForExport(t.http, monitor, auth(project, 'query'), 90_000)).final };
  }
  const acknowledgedParts = async (id: string): Promise<number> =>
    Number((await db.query(`SELECT count(*) AS n FROM export_parts WHERE export_id = $1`, [id]))[0].n);
  const attempts = async (id: string): Promise<number> => (await db.query(`SELECT attempts FROM exports WHERE id = $1`, [id]))[0].attempts;

  afterEach(async () => {
    s3.clearFaults();
    // Whatever failed, no multipart upload is left open in the bucket.
    await expectNoIncompleteUploads(s3, { timeoutMs: 5000 });
  });

  /** Exports with `faults` injected into the S3 server; checks the object is the reference, byte for byte. */
  async function exportWithFaults(faults: S3FaultRule[]): Promise<{ id: string; final: ExportStatus }> {
    s3.resetCounters();
    s3.injectFaults(faults);
    const result = await exportVia(s3.endpoint);
    expect(s3.faultsInjected()).toBeGreaterThan(0);
    if (result.final.status === 'Complete') {
      expect((await s3.getObject(BUCKET, `out/${result.id}.json`)).equals(reference)).toBe(true);
    }
    return result;
  }

  it.each<[string, S3FaultRule[], number]>([
    // The S3 client's own retries (3 attempts per request) absorb these: one attempt of the export.
    [
      'a 500 InternalError on 1 part request in 3',
      [{ operation: 'UploadPart', every: 3, fault: { status: 500, code: 'InternalError' } }],
      1,
    ],
    ['a connection reset in the middle of a part', [{ operation: 'UploadPart', partNumber: 2, times: 1, fault: { reset: true } }], 1],
    // Beyond them: the export's own retry, from its checkpoint.
    [
      'SlowDown on a part more times than the client retries',
      [{ operation: 'UploadPart', partNumber: 3, times: 3, fault: { status: 503, code: 'SlowDown' } }],
      2,
    ],
    [
      'a part that never gets an answer (cut by EXPORT_S3_REQUEST_TIMEOUT_MS)',
      [{ operation: 'UploadPart', partNumber: 2, times: 1, fault: { stall: true } }],
      2,
    ],
    [
      'completing the upload failing with 500 three times',
      [{ operation: 'CompleteMultipartUpload', times: 3, fault: { status: 500, code: 'InternalError' } }],
      2,
    ],
  ])(
    'completes despite %s',
    async (_, faults, expectedAttempts) => {
      const { id, final } = await exportWithFaults(faults);
      expect(final).toMatchObject({ status: 'Complete', error: null, totalBytes: reference.length, transferredBytes: reference.length });
      expect(await attempts(id)).toBe(expectedAttempts);
      // No part that S3 acknowledged was sent again.
      for (const part of s3.uploadPartRequests()) expect(part.succeeded).toBe(1);
    },
    90_000,
  );

  it('fails at once, and aborts its upload, when S3 refuses access midway (a final error)', async () => {
    const { id, final } = await exportWithFaults([
      { operation: 'UploadPart', partNumber: 2, fault: { status: 403, code: 'AccessDenied' } },
    ]);
    expect(final.status).toBe('Failed');
    expect(final.error).toMatch(
      /^S3 rejected the upload to s3:\/\/faults\/out\/[0-9a-f]{24}\.json at http:\/\/127\.0\.0\.1:\d+: AccessDenied: .*Check s3AccessKeyId, s3SecretAccessKey and the bucket policy\.$/,
    );
    expect(await attempts(id)).toBe(1);
    expect(await s3.listKeys(BUCKET, `out/${id}`)).toEqual([]);
    // The worker marks the export Failed, then aborts the upload and wipes the credentials (they
    // are needed for the abort), so a reading right after Failed may still find them.
    const row = await until(
      'the upload forgotten',
      async () => {
        const [r] = await db.query(`SELECT upload_id, s3_credentials_encrypted FROM exports WHERE id = $1`, [id]);
        return r.upload_id === null ? r : null;
      },
      5_000,
    );
    expect(row).toEqual({ upload_id: null, s3_credentials_encrypted: null });
    expect((await s3.incompleteUploads(BUCKET)).filter((upload) => upload.key.includes(id))).toEqual([]);
  }, 90_000);

  it('retries when its PostgreSQL connection is killed while the COPY runs, and writes the same object', async () => {
    // Killed while PostgreSQL still runs the COPY: on loopback the kernel buffers up to 32 MB, so once
    // the rows are rendered the COPY is over even if the worker has not read them all.
    const { id, monitor } = await startExport(s3.endpoint);
    const killed: Array<{ pid: number }> = await until('the running COPY', async () => {
      const rows: Array<{ pid: number }> = await db.query(
        `SELECT pg_terminate_backend(pid) AS killed, pid FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'COPY (SELECT%' AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      return rows.length > 0 && rows;
    });
    expect(killed).toHaveLength(1);
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 60_000);
    expect(final).toMatchObject({ status: 'Complete', error: null, totalBytes: reference.length, transferredBytes: reference.length });
    expect(await attempts(id)).toBe(2);
    expect((await s3.getObject(BUCKET, `out/${id}.json`)).equals(reference)).toBe(true);
  }, 90_000);

  it('abandons an attempt whose PostgreSQL went silent (no error, no data) and continues once it answers again', async () => {
    const { id, monitor } = await startExport(s3.endpoint);
    await until('a first acknowledged part', async () => (await acknowledgedParts(id)) >= 1);
    pgProxy.freeze(); // every open connection goes silent; new ones are held unanswered
    const frozenAt = Date.now();
    await new Promise((r) => setTimeout(r, 4000)); // past EXPORT_STALL_TIMEOUT_MS (2 s)
    await pgProxy.restore();
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 60_000);
    expect(final).toMatchObject({ status: 'Complete', error: null });
    expect(Date.now() - frozenAt).toBeLessThan(45_000);
    expect(await attempts(id)).toBeGreaterThanOrEqual(2);
    expect((await s3.getObject(BUCKET, `out/${id}.json`)).equals(reference)).toBe(true);
  }, 90_000);

  it('retries when S3 stops answering mid-export, and completes once it answers again', async () => {
    const { id, monitor } = await startExport(`http://127.0.0.1:${s3Proxy.port}`);
    await until('a first acknowledged part', async () => (await acknowledgedParts(id)) >= 1);
    s3Proxy.freeze();
    await new Promise((r) => setTimeout(r, 5000)); // past EXPORT_S3_REQUEST_TIMEOUT_MS and the stall timeout
    const during = (await t.http.get(monitor).set(auth(project, 'query'))).body as ExportStatus;
    expect(during).toMatchObject({ status: 'Running', error: null }); // retried, not failed
    await s3Proxy.restore();
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 60_000);
    expect(final).toMatchObject({ status: 'Complete', error: null });
    expect(await attempts(id)).toBeGreaterThanOrEqual(2);
    expect((await s3.getObject(BUCKET, `out/${id}.json`)).equals(reference)).toBe(true);
  }, 90_000);
});

/** An app whose S3 is behind a TCP proxy, one pushed event; each attempt ends by its S3 request's timeout (2 s, QUICK). */
interface FrozenS3 {
  s3: TestS3Server;
  s3Proxy: TcpProxy;
  t: TestApp;
  project: CreatedProject;
}

/** Starts a FrozenS3 with `env` over QUICK before the describe's tests, and stops it after them. */
function frozenS3(env: Record<string, string>): FrozenS3 {
  const setup = {} as FrozenS3;
  beforeAll(async () => {
    setup.s3 = await startS3Server({ buckets: [BUCKET] });
    setup.s3Proxy = await startTcpProxy('127.0.0.1', setup.s3.port);
    setup.t = await startTestApp({ S3_ALLOWED_ENDPOINTS: `http://127.0.0.1:${setup.s3Proxy.port}`, ...QUICK, ...env });
    setup.project = await setup.t.createProject();
    await setup.t.http.post('/events/shop').set(auth(setup.project, 'push')).send({ n: 1 }).expect(200);
  });
  afterAll(async () => {
    await setup.s3Proxy.restore();
    await setup.t.close();
    await setup.s3Proxy.close();
    await setup.s3.close();
  });
  return setup;
}

/** Freezes S3 (connections accepted, nothing answered), posts an export and follows it to its end. */
async function exportWhileFrozen({ s3, s3Proxy, t, project }: FrozenS3, timeoutMs: number) {
  s3Proxy.freeze();
  const res = await t.http
    .post('/events/shop/export')
    .set(auth(project, 'query'))
    .send({ s3Path: `http://127.0.0.1:${s3Proxy.port}/${BUCKET}/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
  expect(res.status).toBe(201);
  return waitForExport(t.http, pathOf(res.headers.location), auth(project, 'query'), timeoutMs);
}

describe('S3 export retry budget', () => {
  // The stall timeout (6 s) is above the S3 request timeout (2 s): with both at 2 s, whichever timer
  // a busy machine ran first decided the message.
  describe('in attempts (EXPORT_MAX_ATTEMPTS)', () => {
    const byAttempts = frozenS3({ EXPORT_STALL_TIMEOUT_MS: '6000', EXPORT_MAX_ATTEMPTS: '3' });

    it('fails with a clear error once S3 never answers within EXPORT_MAX_ATTEMPTS attempts', async () => {
      const started = Date.now();
      const { final, readings } = await exportWhileFrozen(byAttempts, 60_000);
      expect(final.status).toBe('Failed');
      expect(final.error).toMatch(
        /^S3 did not answer in time while uploading s3:\/\/faults\/[0-9a-f]{24}\.json at http:\/\/127\.0\.0\.1:\d+\. Gave up after 3 attempts\.$/,
      );
      // Three attempts of at most 2 s each, and two delays of at most 1 s: well within 20 s.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(readings.some((r) => r.status === 'Running' && r.error === null)).toBe(true);
    }, 60_000);
  });

  describe('in time (EXPORT_RETRY_BUDGET_MS)', () => {
    // Attempts to spare: only the time budget can end the retries.
    const byTime = frozenS3({ EXPORT_STALL_TIMEOUT_MS: '6000', EXPORT_MAX_ATTEMPTS: '1000', EXPORT_RETRY_BUDGET_MS: '4000' });

    it('stops retrying once EXPORT_RETRY_BUDGET_MS has passed since the export first started, attempts left or not', async () => {
      const { final, readings } = await exportWhileFrozen(byTime, 40_000);
      expect(final.status).toBe('Failed');
      // Either an attempt failed past the budget, or a retry was due only after it.
      expect(final.error).toMatch(/Gave up after \d attempts\.$|^The export was interrupted too many times/);
      const elapsedMs = Date.parse(final.finished!) - Date.parse(final.started!);
      // Each attempt ends within its S3 request timeout (2 s) and waits at most 1 s before the next.
      expect(elapsedMs).toBeGreaterThanOrEqual(4000);
      expect(elapsedMs).toBeLessThan(4000 + 2000 + 1000 + 2000);
      const [row] = await byTime.t.app.get(DataSource).query(`SELECT attempts FROM exports WHERE id = $1`, [final.filename.slice(0, 24)]);
      expect(row.attempts).toBeGreaterThanOrEqual(2);
      expect(row.attempts).toBeLessThan(10);
      expect(readings.some((r) => r.status === 'Running' && r.error === null)).toBe(true);
    }, 60_000);
  });
});

describe('S3 export whose DNS lookup hangs', () => {
  /** The S3 endpoint's host name: this test's own resolver answers it, or never answers while `hung`. */
  const HOST = 'hung-dns.s3.test';
  let s3: TestS3Server;
  let t: TestApp;
  let project: CreatedProject;
  let hung = true;
  const realLookup = dns.lookup;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    // net.connect resolves host names with dns.lookup (the module's property, read at each connection).
    const lookup = (hostname: string, options: unknown, callback?: unknown): void => {
      const done = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
      if (hostname !== HOST) {
        (realLookup as (...args: unknown[]) => void)(hostname, options, callback);
      } else if (!hung) {
        if (all) done(null, [{ address: '127.0.0.1', family: 4 }]);
        else done(null, '127.0.0.1', 4);
      } // else a resolver that never answers: no error, no address
    };
    (dns as { lookup: unknown }).lookup = lookup;
    // The stall timeout (1 s) is what cuts the hung lookup: it passes before the S3 client's own
    // connection timeout (5 s) and long before EXPORT_S3_REQUEST_TIMEOUT_MS.
    t = await startTestApp({
      S3_ALLOWED_ENDPOINTS: `http://${HOST}:${s3.port}`,
      ...QUICK,
      EXPORT_STALL_TIMEOUT_MS: '1000',
      EXPORT_S3_REQUEST_TIMEOUT_MS: '30000',
    });
    project = await t.createProject();
    await t.http.post('/events/shop').set(auth(project, 'push')).send({ n: 1 }).expect(200);
  });
  afterAll(async () => {
    (dns as { lookup: unknown }).lookup = realLookup;
    await t.close();
    await s3.close();
  });

  it('abandons the attempt after EXPORT_STALL_TIMEOUT_MS and retries it, Running meanwhile, then completes once the name resolves', async () => {
    const posted = Date.now();
    const res = await t.http
      .post('/events/shop/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `http://${HOST}:${s3.port}/${BUCKET}/dns/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    const monitor = pathOf(res.headers.location);
    const id = (res.body.filename as string).slice(0, 24);
    const db = t.app.get(DataSource);
    await until(
      'a second attempt',
      async () => (await db.query(`SELECT attempts FROM exports WHERE id = $1`, [id]))[0].attempts >= 2,
      15_000,
    );
    // After the stall timeout (1 s, checked every second) and the retry delay (at most 0.4 s here), not the 5 s connection timeout.
    expect(Date.now() - posted).toBeLessThan(4500);
    const during = (await t.http.get(monitor).set(auth(project, 'query'))).body as ExportStatus;
    expect(during).toMatchObject({ status: 'Running', error: null });
    expect(s3.requestLog()).toEqual([]); // nothing reached S3 yet
    hung = false;
    const { final } = await waitForExport(t.http, monitor, auth(project, 'query'), 30_000);
    expect(final).toMatchObject({ status: 'Complete', error: null });
    expect(JSON.parse((await s3.getObject(BUCKET, `dns/${id}.json`)).toString('utf8'))).toMatchObject({ n: 1 });
    await expectNoIncompleteUploads(s3, { bucket: BUCKET, timeoutMs: 5000 });
  }, 60_000);
});
