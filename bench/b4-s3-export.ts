/**
 * B4 S3 export: every event, collection by collection, through `POST /events/:collection/export` to
 * the S3 server on loopback; wall time from the POST to Complete (the monitor's `finished`), bytes
 * written, and the peak RSS of the export worker process (ROLE=worker, sampled every 50 ms and
 * checked against the kernel's VmHWM). The physical limit: `COPY (SELECT <line> ... ORDER BY ...) TO
 * STDOUT` piped into a lib-storage Upload to the same server, with the same part size and queue size.
 *
 * Run twice: on the last 9 days of the 90-day window (N/10 events) and on everything (N), so the
 * worker's peak RSS at N/10 can be set against N. Then two more rows on everything:
 * - gzip: the service with `"compression": "gzip"` against the same COPY piped through
 *   `zlib.createGzip({ level: 6 })` into the same Upload (skipped, with the reason, while the API
 *   refuses or ignores the field);
 * - resumed: the largest collection exported once without interruption and once with the worker
 *   killed (SIGKILL) at about 50 % (the monitor's percentDone) and a new worker started, POST →
 *   Complete each, on workers with a short Bull lock (RESUME_WORKER_ENV) so the dead worker's job is
 *   picked up within seconds.
 *
 * Identity: the service cuts its parts on line ends (at least the part size each), lib-storage at
 * exactly the part size, so their multipart ETags differ on S3 for the same bytes (the local S3
 * server answers a whole-object MD5, which hides this). Each pair of objects is therefore read back
 * and compared by size and SHA-256 of the NDJSON content (decompressed for gzip); the ETags are
 * kept in the results for information, and the service's manifest must state the object's own
 * size and SHA-256.
 */
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { to as copyTo } from 'pg-copy-streams';
import { authHeaders, BenchContext, connect } from './lib/context';
import { COLLECTIONS, WINDOW_END } from './lib/dataset';
import { eventLineSql } from './lib/event-line';
import { ratio } from './lib/stats';

/** The largest ratio of the service's wall time to the COPY → Upload pipeline's that meets the target (bench/README.md). */
export const B4_TARGET_MAX_RATIO = 1.1;
/** The most the worker's peak RSS may be at 1,000,000 events (bench/README.md: 256 MB, read as MiB). */
export const B4_TARGET_MAX_RSS_BYTES = 256 * 1024 * 1024;
/** "Flat": the peak at N may exceed the peak at N/10 by at most this factor. */
export const B4_TARGET_MAX_RSS_GROWTH = 1.1;
/** The service's defaults (EXPORT_PART_SIZE_BYTES, EXPORT_QUEUE_SIZE), used by the baseline too. */
const PART_SIZE_BYTES = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
/** The service's gzip level (src/exports/ndjson-parts.ts GZIP_LEVEL), used by the gzip baseline too. */
const GZIP_LEVEL = 6;
const POLL_MS = 100;
/** The resumed row kills the worker once the monitor's percentDone reaches this. */
const KILL_AT_PERCENT = 50;
/** The resumed row needs at least this many parts (smaller data sets, e.g. the smoke test's, skip it). */
const MIN_RESUME_PARTS = 4;
/**
 * The workers of the resumed row: a dead worker's job is found again once its Bull lock expires,
 * so a short lock (the default is 30 s) keeps the row about resuming, not about waiting for a lock.
 */
export const RESUME_WORKER_ENV = { EXPORT_LOCK_DURATION_MS: '5000', EXPORT_STALLED_INTERVAL_MS: '1000' };

export interface ExportSide {
  seconds: number;
  /** NDJSON bytes (before compression). */
  bytes: number;
  /** Bytes of the stored object (the compressed size with gzip). */
  objectBytes: number;
  /** The object's ETag as S3 answered it (information only: see the file's docstring). */
  etag: string;
  /** SHA-256 (hex) of the NDJSON content read back from S3, decompressed with gzip. */
  sha256: string;
}

export interface CollectionExport {
  collection: string;
  events: number;
  service: ExportSide;
  baseline: ExportSide;
  /** Same NDJSON content: same size and same SHA-256 (decompressed with gzip). */
  identical: boolean;
  /** Same ETag (only expected where both sides cut the same parts, or the S3 server hashes whole objects). */
  etagsEqual: boolean;
  /** The service's manifest states the stored object's size and SHA-256. */
  manifestMatches: boolean;
}

export interface ExportPhase {
  label: string;
  events: number;
  gzip: boolean;
  timeframe: { start: string; end: string } | null;
  exports: CollectionExport[];
  /** bytes: NDJSON before compression; objectBytes: as stored. */
  service: { seconds: number; bytes: number; objectBytes: number };
  baseline: { seconds: number; bytes: number; objectBytes: number };
  /** Σ service wall ÷ Σ baseline wall (lower is better). */
  ratio: number;
  /** The worker's RSS when the phase began (idle) and its peak during the phase, bytes. */
  workerRssAtStartBytes: number;
  workerPeakRssBytes: number;
  rssSamples: number;
  /** The worker's RSS during the phase: [seconds since the phase began, MiB], every 0.5 s. */
  workerRssTimeline: Array<[number, number]>;
}

/** The resumed row: one collection, exported without interruption and with its worker killed half-way. */
export interface ResumeResult {
  collection: string;
  events: number;
  bytes: number;
  workerEnv: Record<string, string>;
  /** POST → Complete of the uninterrupted export, s. */
  uninterruptedSeconds: number;
  /** POST → Complete of the interrupted one, kill, restart and resume included, s. */
  resumedSeconds: number;
  /** resumed ÷ uninterrupted. */
  ratio: number;
  /** The monitor's percentDone when the worker was killed, and when (s after the POST). */
  percentAtKill: number;
  killedAtSeconds: number;
  /** From the kill until the new worker was ready, s. */
  workerRestartSeconds: number;
  /** Parts the new worker found acknowledged (from its log), null when it logged no resume. */
  acknowledgedPartsAtResume: number | null;
  /** The two objects: same size and SHA-256. */
  identical: boolean;
  manifestMatches: boolean;
  uninterrupted: { sha256: string; objectBytes: number };
  resumed: { sha256: string; objectBytes: number };
}

export interface S3ExportResult {
  partSizeBytes: number;
  queueSize: number;
  phases: ExportPhase[];
  /** Of the full phase (N events). */
  ratio: number;
  peakRss: { atTenthBytes: number; atFullBytes: number; growth: number };
  /** Every collection with `"compression": "gzip"`, or why it was not measured. */
  gzip: ExportPhase | { skipped: string };
  resume: ResumeResult | { skipped: string };
  target: { maxRatio: number; maxPeakRssBytes: number; maxRssGrowth: number };
  met: { ratio: boolean; peakRss: boolean; flat: boolean };
}

class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

interface MonitorDocument {
  filename: string;
  status: string;
  finished: string | null;
  error: string | null;
  percentDone: number;
  totalBytes: number;
}

type Timeframe = ExportPhase['timeframe'];

interface ServiceRun {
  seconds: number;
  /** The stored object's size (the monitor's totalBytes once Complete). */
  objectBytes: number;
  /** The object's key in the bucket (from the export's row: `.json` or `.json.gz`). */
  key: string;
  id: string;
}

/** The POST body of a service export. */
function exportBody(ctx: BenchContext, timeframe: Timeframe, gzip: boolean): Record<string, unknown> {
  return {
    query: timeframe ? { timeframe } : {},
    s3Path: `${ctx.s3.endpoint}/${ctx.s3.bucket}/service/`,
    s3AccessKeyId: ctx.s3.accessKeyId,
    s3SecretAccessKey: ctx.s3.secretAccessKey,
    ...(gzip ? { compression: 'gzip' } : {}),
  };
}

/** POSTs an export; @returns its monitor path, id and first document, and when it was posted (ms). */
async function postExport(ctx: BenchContext, collection: string, timeframe: Timeframe, gzip: boolean) {
  const postedAt = Date.now();
  const created = await ctx.http.json<MonitorDocument>(
    'POST',
    `/events/${collection}/export`,
    authHeaders(ctx.project, 'query'),
    201,
    exportBody(ctx, timeframe, gzip),
  );
  const monitor = new URL(String(created.headers.location)).pathname;
  return { postedAt, monitor, id: monitor.split('/').at(-1)!, doc: created.body };
}

/** Polls the monitor until the export is no longer Pending or Running (or `until` says stop); @returns the last document. */
async function follow(
  ctx: BenchContext,
  monitor: string,
  doc: MonitorDocument,
  until: (doc: MonitorDocument) => boolean = () => false,
  pollMs = POLL_MS,
): Promise<MonitorDocument> {
  while ((doc.status === 'Pending' || doc.status === 'Running') && !until(doc)) {
    await new Promise((r) => setTimeout(r, pollMs));
    doc = (await ctx.http.json<MonitorDocument>('GET', monitor, authHeaders(ctx.project, 'query'), 200)).body;
  }
  return doc;
}

/** The export's object key as the service stored it. */
async function objectKeyOf(ctx: BenchContext, id: string): Promise<string> {
  const { rows } = await ctx.admin.query<{ s3_key: string }>('SELECT s3_key FROM exports WHERE id = $1', [id]);
  return rows[0].s3_key;
}

async function finished(ctx: BenchContext, postedAt: number, id: string, doc: MonitorDocument, collection: string): Promise<ServiceRun> {
  if (doc.status !== 'Complete') throw new Error(`B4: the export of ${collection} ended ${doc.status}: ${doc.error}`);
  return { seconds: (Date.parse(doc.finished!) - postedAt) / 1000, objectBytes: doc.totalBytes, key: await objectKeyOf(ctx, id), id };
}

async function serviceExport(ctx: BenchContext, collection: string, timeframe: Timeframe, gzip: boolean): Promise<ServiceRun> {
  const { postedAt, monitor, id, doc } = await postExport(ctx, collection, timeframe, gzip);
  return finished(ctx, postedAt, id, await follow(ctx, monitor, doc), collection);
}

async function baselineExport(
  ctx: BenchContext,
  s3: S3Client,
  collection: string,
  timeframe: Timeframe,
  key: string,
  gzip: boolean,
): Promise<{ seconds: number; bytes: number }> {
  const client = await connect(ctx.databaseUrl);
  try {
    // COPY takes no parameters; these literals are the harness's own values, quoted by pg.
    const lit = (v: string): string => client.escapeLiteral(v);
    const where = [`e.project_id = ${lit(ctx.project.projectId)}`, `e.collection = ${lit(collection)}`];
    if (timeframe) where.push(`e."timestamp" >= ${lit(timeframe.start)}`, `e."timestamp" < ${lit(timeframe.end)}`);
    // CSV with a delimiter and a quote character that never occur in JSON text (control characters
    // are escaped there) writes each line verbatim: no quoting, no backslash escaping.
    const sql =
      `COPY (SELECT ${eventLineSql()} FROM events e WHERE ${where.join(' AND ')} ORDER BY e."timestamp", e.id) ` +
      `TO STDOUT (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;
    const started = performance.now();
    const counter = new ByteCounter();
    const rows = client.query(copyTo(sql));
    const compressor = gzip ? createGzip({ level: GZIP_LEVEL }) : null;
    const piped = compressor ? pipeline(rows, counter, compressor) : pipeline(rows, counter);
    piped.catch(() => undefined); // the Upload fails with the same error
    const upload = new Upload({
      client: s3,
      params: {
        Bucket: ctx.s3.bucket,
        Key: key,
        Body: compressor ?? counter,
        ContentType: gzip ? 'application/gzip' : 'application/x-ndjson',
      },
      partSize: PART_SIZE_BYTES,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    await Promise.all([upload.done(), piped]);
    return { seconds: (performance.now() - started) / 1000, bytes: counter.bytes };
  } finally {
    await client.end();
  }
}

/** Reads an object back: its stored size, ETag and SHA-256, and the size and SHA-256 of its content (gunzipped with `gunzip`). */
async function readBack(s3: S3Client, bucket: string, key: string, gunzip: boolean) {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const stored = createHash('sha256');
  const content = createHash('sha256');
  let storedBytes = 0;
  let contentBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _, done) {
      stored.update(chunk);
      storedBytes += chunk.length;
      done(null, chunk);
    },
  });
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      content.update(chunk);
      contentBytes += chunk.length;
    }
  };
  // Node's gunzip reads every member of a multi-member file (the service writes one per block).
  if (gunzip) await pipeline(answer.Body as Readable, tap, createGunzip(), sink);
  else await pipeline(answer.Body as Readable, tap, sink);
  return { etag: answer.ETag ?? '', storedBytes, storedSha256: stored.digest('hex'), contentBytes, contentSha256: content.digest('hex') };
}

/** Whether `<prefix><id>.manifest.json` states this object's size and SHA-256. */
async function manifestMatches(
  s3: S3Client,
  bucket: string,
  key: string,
  object: { storedBytes: number; storedSha256: string },
): Promise<boolean> {
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key.replace(/\.json(\.gz)?$/, '') + '.manifest.json' }));
    const manifest = JSON.parse(await answer.Body!.transformToString('utf8')) as { bytes: number; sha256: string };
    return manifest.bytes === object.storedBytes && manifest.sha256 === object.storedSha256;
  } catch {
    return false;
  }
}

async function removeObjects(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

async function runPhase(ctx: BenchContext, s3: S3Client, label: string, timeframe: Timeframe, gzip = false): Promise<ExportPhase> {
  const workerRssAtStartBytes = ctx.workerRss.current();
  ctx.workerRss.phase();
  const exports: CollectionExport[] = [];
  for (const [i, { name }] of COLLECTIONS.entries()) {
    const { rows } = await ctx.admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM events WHERE project_id = $1 AND collection = $2${timeframe ? ' AND "timestamp" >= $3 AND "timestamp" < $4' : ''}`,
      [ctx.project.projectId, name, ...(timeframe ? [timeframe.start, timeframe.end] : [])],
    );
    const baselineKey = `baseline/${name}-${label.replace(/\W+/g, '')}.json${gzip ? '.gz' : ''}`;
    let service: ServiceRun;
    let baseline: { seconds: number; bytes: number };
    if (i % 2 === 0) {
      service = await serviceExport(ctx, name, timeframe, gzip);
      baseline = await baselineExport(ctx, s3, name, timeframe, baselineKey, gzip);
    } else {
      baseline = await baselineExport(ctx, s3, name, timeframe, baselineKey, gzip);
      service = await serviceExport(ctx, name, timeframe, gzip);
    }
    // Untimed: both objects read back and hashed.
    const serviceObject = await readBack(s3, ctx.s3.bucket, service.key, gzip);
    const baselineObject = await readBack(s3, ctx.s3.bucket, baselineKey, gzip);
    const manifestOk = await manifestMatches(s3, ctx.s3.bucket, service.key, serviceObject);
    await removeObjects(s3, ctx.s3.bucket, [service.key, service.key.replace(/\.json(\.gz)?$/, '') + '.manifest.json', baselineKey]);
    const identical =
      serviceObject.storedBytes === service.objectBytes &&
      baselineObject.contentBytes === baseline.bytes &&
      serviceObject.contentBytes === baselineObject.contentBytes &&
      serviceObject.contentSha256 === baselineObject.contentSha256;
    if (!identical) {
      ctx.log(
        `B4 ${label} ${name}: the two objects differ (${serviceObject.contentBytes} / ${baselineObject.contentBytes} bytes of NDJSON)`,
      );
    }
    if (!manifestOk) ctx.log(`B4 ${label} ${name}: the manifest does not state the object's size and SHA-256`);
    exports.push({
      collection: name,
      events: Number(rows[0].n),
      service: {
        seconds: service.seconds,
        bytes: serviceObject.contentBytes,
        objectBytes: serviceObject.storedBytes,
        etag: serviceObject.etag,
        sha256: serviceObject.contentSha256,
      },
      baseline: {
        seconds: baseline.seconds,
        bytes: baseline.bytes,
        objectBytes: baselineObject.storedBytes,
        etag: baselineObject.etag,
        sha256: baselineObject.contentSha256,
      },
      identical,
      etagsEqual: serviceObject.etag === baselineObject.etag,
      manifestMatches: manifestOk,
    });
    ctx.log(
      `B4 ${label} ${name}: ${rows[0].n} events, service ${service.seconds.toFixed(2)} s, COPY → ${gzip ? 'gzip → ' : ''}Upload ${baseline.seconds.toFixed(2)} s` +
        (gzip ? ` (${serviceObject.storedBytes} / ${baselineObject.storedBytes} bytes compressed)` : ''),
    );
  }
  const peak = ctx.workerRss.peak();
  const sum = (side: 'service' | 'baseline', field: 'seconds' | 'bytes' | 'objectBytes'): number =>
    exports.reduce((acc, e) => acc + e[side][field], 0);
  return {
    label,
    events: exports.reduce((acc, e) => acc + e.events, 0),
    gzip,
    timeframe,
    exports,
    service: { seconds: sum('service', 'seconds'), bytes: sum('service', 'bytes'), objectBytes: sum('service', 'objectBytes') },
    baseline: { seconds: sum('baseline', 'seconds'), bytes: sum('baseline', 'bytes'), objectBytes: sum('baseline', 'objectBytes') },
    ratio: ratio(sum('service', 'seconds'), sum('baseline', 'seconds')),
    workerRssAtStartBytes,
    workerPeakRssBytes: peak.peakRssBytes,
    rssSamples: peak.samples,
    workerRssTimeline: peak.timeline,
  };
}

/**
 * Whether the API takes `"compression": "gzip"`: one export of the last day of `refunds` with it.
 * @returns null when it does, else why the gzip row is skipped.
 */
async function gzipUnsupported(ctx: BenchContext, s3: S3Client): Promise<string | null> {
  const day = { start: new Date(WINDOW_END.getTime() - 86_400_000).toISOString(), end: WINDOW_END.toISOString() };
  const answer = await ctx.http.request(
    'POST',
    '/events/refunds/export',
    authHeaders(ctx.project, 'query'),
    JSON.stringify(exportBody(ctx, day, true)),
  );
  if (answer.status !== 201) {
    return `the API refuses "compression": "gzip" (HTTP ${answer.status}: ${answer.body.toString('utf8').slice(0, 200)})`;
  }
  const monitor = new URL(String(answer.headers.location)).pathname;
  const id = monitor.split('/').at(-1)!;
  const { rows } = await ctx.admin.query<{ compression: string }>('SELECT compression FROM exports WHERE id = $1', [id]);
  const doc = await follow(ctx, monitor, JSON.parse(answer.body.toString('utf8')) as MonitorDocument);
  const key = await objectKeyOf(ctx, id);
  await removeObjects(s3, ctx.s3.bucket, [key, key.replace(/\.json(\.gz)?$/, '') + '.manifest.json']).catch(() => undefined);
  if (rows[0]?.compression !== 'gzip') return 'the API does not take "compression" yet (it drops the field and writes plain NDJSON)';
  if (doc.status !== 'Complete') return `a gzip export ended ${doc.status}: ${doc.error}`;
  return null;
}

/** The parts the worker found acknowledged when it resumed, from its log ("resuming after N acknowledged part(s)"). */
function acknowledgedAtResume(logFile: string, exportId: string): number | null {
  const match = new RegExp(`export ${exportId}: resuming after (\\d+) acknowledged part`).exec(readFileSync(logFile, 'utf8'));
  return match ? Number(match[1]) : null;
}

/**
 * The resumed row: `collection` exported once without interruption and once with its worker killed
 * (SIGKILL) at KILL_AT_PERCENT, then a new worker started; both on workers with RESUME_WORKER_ENV.
 * The worker it leaves running is the last one started.
 */
async function runResume(ctx: BenchContext, s3: S3Client, collection: string): Promise<ResumeResult | { skipped: string }> {
  await ctx.replaceWorker(RESUME_WORKER_ENV, 'SIGTERM');
  const { rows } = await ctx.admin.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE project_id = $1 AND collection = $2', [
    ctx.project.projectId,
    collection,
  ]);
  const whole = await serviceExport(ctx, collection, null, false);
  ctx.log(`B4 resumed ${collection}: uninterrupted ${whole.seconds.toFixed(2)} s`);

  if (whole.objectBytes < MIN_RESUME_PARTS * PART_SIZE_BYTES) {
    const key = whole.key;
    await removeObjects(s3, ctx.s3.bucket, [key, key.replace(/\.json(\.gz)?$/, '') + '.manifest.json']);
    return {
      skipped: `${collection} is ${whole.objectBytes} bytes, under ${MIN_RESUME_PARTS} parts of ${PART_SIZE_BYTES}: nothing to interrupt half-way`,
    };
  }
  const { postedAt, monitor, id, doc } = await postExport(ctx, collection, null, false);
  const atKill = await follow(ctx, monitor, doc, (d) => d.percentDone >= KILL_AT_PERCENT, 20);
  if (atKill.status !== 'Running')
    throw new Error(`B4 resumed: the export ended ${atKill.status} before ${KILL_AT_PERCENT} % (${atKill.error})`);
  const killedAt = Date.now();
  await ctx.replaceWorker(RESUME_WORKER_ENV, 'SIGKILL');
  const restartSeconds = (Date.now() - killedAt) / 1000;
  ctx.log(
    `B4 resumed ${collection}: worker killed at ${atKill.percentDone} % (${((killedAt - postedAt) / 1000).toFixed(2)} s), new worker up in ${restartSeconds.toFixed(2)} s`,
  );
  const resumed = await finished(ctx, postedAt, id, await follow(ctx, monitor, atKill), collection);

  const a = await readBack(s3, ctx.s3.bucket, whole.key, false);
  const b = await readBack(s3, ctx.s3.bucket, resumed.key, false);
  const manifestOk = (await manifestMatches(s3, ctx.s3.bucket, whole.key, a)) && (await manifestMatches(s3, ctx.s3.bucket, resumed.key, b));
  const manifest = (key: string): string => key.replace(/\.json(\.gz)?$/, '') + '.manifest.json';
  await removeObjects(s3, ctx.s3.bucket, [whole.key, manifest(whole.key), resumed.key, manifest(resumed.key)]);
  const identical = a.storedBytes === b.storedBytes && a.storedSha256 === b.storedSha256 && b.storedBytes === resumed.objectBytes;
  if (!identical)
    ctx.log(`B4 resumed ${collection}: the resumed object differs from the uninterrupted one (${b.storedBytes} / ${a.storedBytes} bytes)`);
  const acknowledged = acknowledgedAtResume(ctx.worker.logFile, id);
  ctx.log(`B4 resumed ${collection}: resumed ${resumed.seconds.toFixed(2)} s (${acknowledged ?? 'no'} parts acknowledged at the resume)`);
  return {
    collection,
    events: Number(rows[0].n),
    bytes: a.storedBytes,
    workerEnv: RESUME_WORKER_ENV,
    uninterruptedSeconds: whole.seconds,
    resumedSeconds: resumed.seconds,
    ratio: ratio(resumed.seconds, whole.seconds),
    percentAtKill: atKill.percentDone,
    killedAtSeconds: (killedAt - postedAt) / 1000,
    workerRestartSeconds: restartSeconds,
    acknowledgedPartsAtResume: acknowledged,
    identical,
    manifestMatches: manifestOk,
    uninterrupted: { sha256: a.storedSha256, objectBytes: a.storedBytes },
    resumed: { sha256: b.storedSha256, objectBytes: b.storedBytes },
  };
}

export async function runS3Export(ctx: BenchContext): Promise<S3ExportResult> {
  const s3 = new S3Client({
    endpoint: ctx.s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ctx.s3.accessKeyId, secretAccessKey: ctx.s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const tenth = { start: new Date(WINDOW_END.getTime() - 9 * 86_400_000).toISOString(), end: WINDOW_END.toISOString() };
    const phases = [await runPhase(ctx, s3, 'N/10', tenth), await runPhase(ctx, s3, 'N', null)];
    const [atTenth, atFull] = phases.map((p) => p.workerPeakRssBytes);
    const growth = ratio(atFull, atTenth);
    const full = phases[1];

    const gzipSkipped = await gzipUnsupported(ctx, s3);
    if (gzipSkipped) ctx.log(`B4 gzip: skipped: ${gzipSkipped}`);
    const gzip = gzipSkipped ? { skipped: gzipSkipped } : await runPhase(ctx, s3, 'N gzip', null, true);

    // The largest collection (half of N).
    const resume = await runResume(ctx, s3, COLLECTIONS[0].name);
    return {
      partSizeBytes: PART_SIZE_BYTES,
      queueSize: QUEUE_SIZE,
      phases,
      ratio: full.ratio,
      peakRss: { atTenthBytes: atTenth, atFullBytes: atFull, growth },
      gzip,
      resume,
      target: { maxRatio: B4_TARGET_MAX_RATIO, maxPeakRssBytes: B4_TARGET_MAX_RSS_BYTES, maxRssGrowth: B4_TARGET_MAX_RSS_GROWTH },
      met: {
        ratio: full.ratio <= B4_TARGET_MAX_RATIO,
        peakRss: atFull <= B4_TARGET_MAX_RSS_BYTES,
        flat: growth <= B4_TARGET_MAX_RSS_GROWTH,
      },
    };
  } finally {
    s3.destroy();
  }
}
