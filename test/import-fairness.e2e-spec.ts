import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { CreatedProject } from '../src/projects/projects.service';
import { pathOf, until } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, TestApp } from './support/test-app';

/**
 * Fair turns between projects' imports (docs/imports.md, "Fair turns"): one project's imports, whose
 * objects are slow to read, never hold more than IMPORT_MAX_RUNNING_PER_PROJECT of the workers' slots,
 * another project's import starts within seconds, and every import still stores each line once.
 */
const LINES = 300;
const SLOW = 'slow-a';
const FAST = 'fast-b';

const LEVELS = ['log', 'warn', 'debug'] as const;

interface Sample {
  at: number;
  project_id: string;
  running: number;
  pending: number;
}

describe('S3 imports of two projects', () => {
  let s3: TestS3Server;
  let client: S3Client;
  const apps: TestApp[] = [];
  const spies = new Map<(typeof LEVELS)[number], jest.SpyInstance>();
  /** The log calls since the spies were last cleared, in order. */
  const logged = (): Array<{ level: string; message: unknown }> =>
    [...spies]
      .flatMap(([level, spy]) =>
        spy.mock.calls.map((args, i) => ({ level, message: args[0] as unknown, order: spy.mock.invocationCallOrder[i] })),
      )
      .sort((x, y) => x.order - y.order);

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [SLOW, FAST] });
    client = new S3Client(s3.clientConfig());
    for (let i = 0; i < 5; i++) await put(SLOW, `a-${i}.json`, `a-${i}`);
    await put(FAST, 'b.json', 'b');
    // Every log call of the workers, at any level (the apps print errors only); the spies call through.
    for (const level of LEVELS) spies.set(level, jest.spyOn(Logger.prototype, level));
  });
  afterEach(async () => {
    s3.clearFaults();
    while (apps.length > 0) await apps.pop()!.close();
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    client.destroy();
    await s3.close();
  });

  /** An object of LINES events without ids (a line stored twice would be two rows), each naming its object. */
  async function put(bucket: string, key: string, object: string): Promise<void> {
    const body = Array.from({ length: LINES }, (_, n) => JSON.stringify({ object, n })).join('\n');
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(`${body}\n`) }));
  }

  const start = (t: TestApp, project: CreatedProject, bucket: string, key: string) =>
    t.http
      .post('/event-import')
      .set(auth(project, 'push'))
      .send({
        collection: 'loaded',
        s3Path: `${s3.endpoint}/${bucket}/${key}`,
        s3AccessKeyId: s3.accessKeyId,
        s3SecretAccessKey: s3.secretAccessKey,
      })
      .expect(201)
      .then((res) => pathOf(res.headers.location).split('/').pop()!);

  /** Samples Running and Pending imports per project every ~20 ms until stopped. */
  function sampler(db: DataSource, projects: CreatedProject[]) {
    const samples: Sample[] = [];
    let stop = false;
    const done = (async () => {
      while (!stop) {
        const rows: Sample[] = await db.query(
          `SELECT project_id, count(*) FILTER (WHERE status = 'Running')::int AS running, count(*) FILTER (WHERE status = 'Pending')::int AS pending
             FROM event_imports WHERE project_id = ANY($1) GROUP BY project_id`,
          [projects.map((p) => p.projectId)],
        );
        const at = Date.now();
        samples.push(...rows.map((r) => ({ ...r, at })));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    return {
      samples,
      stop: async () => {
        stop = true;
        await done;
      },
      max: (p: CreatedProject) => Math.max(0, ...samples.filter((s) => s.project_id === p.projectId).map((s) => s.running)),
    };
  }

  /** Waits for every import to end, then checks each is Complete with each of its lines stored once. */
  async function expectAllComplete(db: DataSource, imports: Array<{ id: string; project: CreatedProject; object: string }>) {
    await until(
      'every import to end',
      async () => {
        const rows: Array<{ n: number }> = await db.query(
          `SELECT count(*)::int AS n FROM event_imports WHERE id = ANY($1) AND status IN ('Complete', 'Failed')`,
          [imports.map((i) => i.id)],
        );
        return rows[0].n === imports.length;
      },
      60_000,
    );
    for (const { id, project, object } of imports) {
      const [record] = await db.query(
        `SELECT status, error, imported_events::int AS imported, duplicate_events::int AS duplicates FROM event_imports WHERE id = $1`,
        [id],
      );
      expect({ object, ...record }).toEqual({ object, status: 'Complete', error: null, imported: LINES, duplicates: 0 });
      const [rows] = await db.query(
        `SELECT count(*)::int AS lines, count(DISTINCT properties->'n')::int AS distinct FROM events
          WHERE project_id = $1 AND collection = 'loaded' AND properties->>'object' = $2`,
        [project.projectId, object],
      );
      expect({ object, ...rows }).toEqual({ object, lines: LINES, distinct: LINES });
    }
  }

  const startedAt = async (db: DataSource, id: string): Promise<number> =>
    ((await db.query(`SELECT started_at FROM event_imports WHERE id = $1`, [id]))[0].started_at as Date).getTime();

  it("starts project B's import within seconds while A's 5 slow imports run one at a time over two workers (IMPORT_MAX_RUNNING_PER_PROJECT 1)", async () => {
    const env = {
      S3_ALLOWED_ENDPOINTS: s3.endpoint,
      IMPORT_CONCURRENCY: '2',
      EXPORT_RETRY_BASE_DELAY_MS: '50',
    };
    apps.push(await startTestApp(env));
    const t = apps[0];
    apps.push(await startTestApp({ ...env, QUEUE_PREFIX: t.config.redis.queuePrefix })); // a second worker on the same queue
    expect(t.config.imports.maxRunningPerProject).toBe(1); // the default
    const db = t.app.get(DataSource);
    const a = await t.createProject('a');
    const b = await t.createProject('b');
    s3.injectFaults([
      // a-0's first read fails three times (every attempt of the S3 client): the import is retried and, Running meanwhile, keeps its turn.
      { operation: 'GetObject', bucket: SLOW, key: 'a-0.json', times: 3, fault: { status: 500, code: 'InternalError' } },
      { operation: 'GetObject', bucket: SLOW, fault: { delayMs: 1500 } },
    ]);
    for (const spy of spies.values()) spy.mockClear();
    const sampling = sampler(db, [a, b]);

    const aIds: string[] = [];
    for (let i = 0; i < 5; i++) aIds.push(await start(t, a, SLOW, `a-${i}.json`));
    await until('one of A’s imports to run', async () => sampling.samples.some((s) => s.project_id === a.projectId && s.running === 1));
    const bPosted = Date.now();
    const bId = await start(t, b, FAST, 'b.json');
    await until(
      'B’s import to start',
      async () => (await db.query(`SELECT 1 FROM event_imports WHERE id = $1 AND started_at IS NOT NULL`, [bId])).length > 0,
    );
    const bWaitedMs = (await startedAt(db, bId)) - bPosted;
    const aPendingWhenBStarted = sampling.samples
      .filter((s) => s.project_id === a.projectId && s.at <= bPosted + bWaitedMs + 20)
      .at(-1)?.pending;

    await expectAllComplete(db, [...aIds.map((id, i) => ({ id, project: a, object: `a-${i}` })), { id: bId, project: b, object: 'b' }]);
    await sampling.stop();
    const aStarts = (await Promise.all(aIds.map((id) => startedAt(db, id)))).sort((x, y) => x - y);
    console.log(
      `import fairness (cap 1, 2 workers × 2): B started ${bWaitedMs} ms after its POST; A pending then ${aPendingWhenBStarted}; ` +
        `A max running ${sampling.max(a)} over ${sampling.samples.length} samples; A's imports started +${aStarts.map((s) => s - aStarts[0]).join(', +')} ms; ` +
        `waits logged at debug ${logged().filter((l) => (l.message as { event?: string })?.event === 'import.waiting').length}`,
    );

    expect(bWaitedMs).toBeLessThan(2000);
    expect(aPendingWhenBStarted).toBeGreaterThanOrEqual(3); // A's others were still waiting
    expect(sampling.max(a)).toBe(1);
    expect(s3.injectedFaults().filter((f) => f.kind === 'status')).toHaveLength(3);
    expect((await db.query(`SELECT attempts FROM event_imports WHERE id = $1`, [aIds[0]]))[0].attempts).toBe(2); // retried, in its turn

    // A job told to wait logs at debug only: no info or warning lines about waits or failed jobs.
    const waits = logged().filter((l) => (l.message as { event?: string })?.event === 'import.waiting');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((l) => l.level === 'debug')).toBe(true);
    const loud = logged()
      .filter((l) => l.level !== 'debug')
      .map((l) => (typeof l.message === 'string' ? l.message : JSON.stringify(l.message)));
    expect(loud.filter((m) => /turn|wait/i.test(m) || /import job .* failed/.test(m))).toEqual([]);
    for (const id of aIds.slice(1)) {
      // created, started and complete, however often it waited
      const lines = logged().filter((l) => l.level !== 'debug' && (l.message as { importId?: string })?.importId === id);
      expect(lines.map((l) => (l.message as { event: string }).event)).toEqual(['import.created', 'import.started', 'import.complete']);
    }
  }, 90_000);

  it("lets another project's waiting import go before a project's next one under its cap (IMPORT_MAX_RUNNING_PER_PROJECT 2)", async () => {
    apps.push(await startTestApp({ S3_ALLOWED_ENDPOINTS: s3.endpoint, IMPORT_CONCURRENCY: '2', IMPORT_MAX_RUNNING_PER_PROJECT: '2' }));
    const t = apps[0];
    const db = t.app.get(DataSource);
    const a = await t.createProject('a');
    const b = await t.createProject('b');
    // a-0 ends after about 1 s, A's others after 4 s each: when a-0 ends, A has 1 Running and B's import waits with 0.
    s3.injectFaults([
      { operation: 'GetObject', bucket: SLOW, key: 'a-0.json', fault: { delayMs: 1000 } },
      { operation: 'GetObject', bucket: SLOW, fault: { delayMs: 4000 } },
    ]);
    const sampling = sampler(db, [a, b]);
    const aIds: string[] = [];
    for (let i = 0; i < 4; i++) aIds.push(await start(t, a, SLOW, `a-${i}.json`));
    await until('two of A’s imports to run', async () => sampling.samples.some((s) => s.project_id === a.projectId && s.running === 2));
    const bId = await start(t, b, FAST, 'b.json'); // queued behind a-2 and a-3, with both slots taken

    await expectAllComplete(db, [...aIds.map((id, i) => ({ id, project: a, object: `a-${i}` })), { id: bId, project: b, object: 'b' }]);
    await sampling.stop();
    const aStarts = await Promise.all(aIds.map((id) => startedAt(db, id)));
    const bStart = await startedAt(db, bId);
    console.log(
      `import fairness (cap 2, 1 worker × 2): A's imports started at +${aStarts.map((s) => s - aStarts[0]).join(', +')} ms, B's at +${bStart - aStarts[0]} ms; ` +
        `A max running ${sampling.max(a)}`,
    );
    expect(bStart).toBeLessThan(Math.min(aStarts[2], aStarts[3]));
    expect(bStart - aStarts[0]).toBeLessThan(3500); // soon after a-0 ended, not after a-1 (4 s)
    expect(sampling.max(a)).toBe(2);
  }, 90_000);
});
