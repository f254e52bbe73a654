/**
 * B4 S3 export: every event, collection by collection, through `POST /events/:collection/export` to
 * the S3 server on loopback; wall time from the POST to Complete (the monitor's `finished`), bytes
 * written, and the peak RSS of the export worker process (ROLE=worker, sampled every 50 ms and
 * checked against the kernel's VmHWM). The physical limit: `COPY (SELECT <line> ... ORDER BY ...) TO
 * STDOUT` piped into a lib-storage Upload to the same server, with the same part size and queue size.
 *
 * Run twice: on the last 9 days of the 90-day window (N/10 events) and on everything (N), so the
 * worker's peak RSS at N/10 can be set against N. The two objects of each export are compared
 * (size and multipart ETag, which are equal only for identical bytes in identical parts).
 */
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Transform, TransformCallback } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import { authHeaders, BenchContext, connect } from './lib/context';
import { COLLECTIONS, WINDOW_END } from './lib/dataset';
import { eventLineSql } from './lib/event-line';
import { ratio } from './lib/stats';

/** The largest ratio of the service's wall time to the COPY → Upload pipeline's that meets the target (bench/README.md). */
export const B4_TARGET_MAX_RATIO = 1.3;
/** The most the worker's peak RSS may be at 1,000,000 events (bench/README.md: 256 MB, read as MiB). */
export const B4_TARGET_MAX_RSS_BYTES = 256 * 1024 * 1024;
/** "Flat": the peak at N may exceed the peak at N/10 by at most this factor. */
export const B4_TARGET_MAX_RSS_GROWTH = 1.1;
/** The service's defaults (EXPORT_PART_SIZE_BYTES, EXPORT_QUEUE_SIZE), used by the baseline too. */
const PART_SIZE_BYTES = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
const POLL_MS = 100;

export interface ExportSide {
  seconds: number;
  bytes: number;
  etag: string;
}

export interface CollectionExport {
  collection: string;
  events: number;
  service: ExportSide;
  baseline: ExportSide;
  /** Same size and same multipart ETag. */
  identical: boolean;
}

export interface ExportPhase {
  label: string;
  events: number;
  timeframe: { start: string; end: string } | null;
  exports: CollectionExport[];
  service: { seconds: number; bytes: number };
  baseline: { seconds: number; bytes: number };
  /** Σ service wall ÷ Σ baseline wall (lower is better). */
  ratio: number;
  /** The worker's RSS when the phase began (idle) and its peak during the phase, bytes. */
  workerRssAtStartBytes: number;
  workerPeakRssBytes: number;
  rssSamples: number;
  /** The worker's RSS during the phase: [seconds since the phase began, MiB], every 0.5 s. */
  workerRssTimeline: Array<[number, number]>;
}

export interface S3ExportResult {
  partSizeBytes: number;
  queueSize: number;
  phases: ExportPhase[];
  /** Of the full phase (N events). */
  ratio: number;
  peakRss: { atTenthBytes: number; atFullBytes: number; growth: number };
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
  totalBytes: number;
}

async function serviceExport(ctx: BenchContext, collection: string, timeframe: ExportPhase['timeframe']): Promise<ExportSide & { key: string }> {
  const headers = authHeaders(ctx.project, 'query');
  const postedAt = Date.now();
  const created = await ctx.http.json<MonitorDocument>('POST', `/events/${collection}/export`, headers, 201, {
    query: timeframe ? { timeframe } : {},
    s3Path: `${ctx.s3.endpoint}/${ctx.s3.bucket}/service/`,
    s3AccessKeyId: ctx.s3.accessKeyId,
    s3SecretAccessKey: ctx.s3.secretAccessKey,
  });
  const monitor = new URL(String(created.headers.location)).pathname;
  let doc = created.body;
  while (doc.status === 'Pending' || doc.status === 'Running') {
    await new Promise((r) => setTimeout(r, POLL_MS));
    doc = (await ctx.http.json<MonitorDocument>('GET', monitor, headers, 200)).body;
  }
  if (doc.status !== 'Complete') throw new Error(`B4: the export of ${collection} ended ${doc.status}: ${doc.error}`);
  return { seconds: (Date.parse(doc.finished!) - postedAt) / 1000, bytes: doc.totalBytes, etag: '', key: `service/${doc.filename}` };
}

async function baselineExport(ctx: BenchContext, s3: S3Client, collection: string, timeframe: ExportPhase['timeframe'], key: string): Promise<ExportSide> {
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
    rows.on('error', (error) => counter.destroy(error));
    rows.pipe(counter);
    const upload = new Upload({
      client: s3,
      params: { Bucket: ctx.s3.bucket, Key: key, Body: counter, ContentType: 'application/x-ndjson' },
      partSize: PART_SIZE_BYTES,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    await upload.done();
    return { seconds: (performance.now() - started) / 1000, bytes: counter.bytes, etag: '' };
  } finally {
    await client.end();
  }
}

async function objectInfo(s3: S3Client, bucket: string, key: string): Promise<{ size: number; etag: string }> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { size: head.ContentLength ?? -1, etag: head.ETag ?? '' };
}

async function runPhase(ctx: BenchContext, s3: S3Client, label: string, timeframe: ExportPhase['timeframe']): Promise<ExportPhase> {
  const workerRssAtStartBytes = ctx.workerRss.current();
  ctx.workerRss.phase();
  const exports: CollectionExport[] = [];
  for (const [i, { name }] of COLLECTIONS.entries()) {
    const { rows } = await ctx.admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM events WHERE project_id = $1 AND collection = $2${timeframe ? ' AND "timestamp" >= $3 AND "timestamp" < $4' : ''}`,
      [ctx.project.projectId, name, ...(timeframe ? [timeframe.start, timeframe.end] : [])],
    );
    const baselineKey = `baseline/${name}-${label.replace(/\W+/g, '')}.json`;
    let service: ExportSide & { key: string };
    let baseline: ExportSide;
    if (i % 2 === 0) {
      service = await serviceExport(ctx, name, timeframe);
      baseline = await baselineExport(ctx, s3, name, timeframe, baselineKey);
    } else {
      baseline = await baselineExport(ctx, s3, name, timeframe, baselineKey);
      service = await serviceExport(ctx, name, timeframe);
    }
    const serviceObject = await objectInfo(s3, ctx.s3.bucket, service.key);
    const baselineObject = await objectInfo(s3, ctx.s3.bucket, baselineKey);
    await s3.send(new DeleteObjectCommand({ Bucket: ctx.s3.bucket, Key: service.key }));
    await s3.send(new DeleteObjectCommand({ Bucket: ctx.s3.bucket, Key: baselineKey }));
    const identical =
      serviceObject.size === service.bytes &&
      serviceObject.size === baselineObject.size &&
      baselineObject.size === baseline.bytes &&
      serviceObject.etag === baselineObject.etag;
    if (!identical) ctx.log(`B4 ${label} ${name}: the two objects differ (${serviceObject.size} / ${baselineObject.size} bytes)`);
    exports.push({
      collection: name,
      events: Number(rows[0].n),
      service: { seconds: service.seconds, bytes: service.bytes, etag: serviceObject.etag },
      baseline: { ...baseline, etag: baselineObject.etag },
      identical,
    });
    ctx.log(`B4 ${label} ${name}: ${rows[0].n} events, service ${service.seconds.toFixed(2)} s, COPY → Upload ${baseline.seconds.toFixed(2)} s`);
  }
  const peak = ctx.workerRss.peak();
  const sum = (side: 'service' | 'baseline', field: 'seconds' | 'bytes'): number => exports.reduce((acc, e) => acc + e[side][field], 0);
  return {
    label,
    events: exports.reduce((acc, e) => acc + e.events, 0),
    timeframe,
    exports,
    service: { seconds: sum('service', 'seconds'), bytes: sum('service', 'bytes') },
    baseline: { seconds: sum('baseline', 'seconds'), bytes: sum('baseline', 'bytes') },
    ratio: ratio(sum('service', 'seconds'), sum('baseline', 'seconds')),
    workerRssAtStartBytes,
    workerPeakRssBytes: peak.peakRssBytes,
    rssSamples: peak.samples,
    workerRssTimeline: peak.timeline,
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
    return {
      partSizeBytes: PART_SIZE_BYTES,
      queueSize: QUEUE_SIZE,
      phases,
      ratio: full.ratio,
      peakRss: { atTenthBytes: atTenth, atFullBytes: atFull, growth },
      target: { maxRatio: B4_TARGET_MAX_RATIO, maxPeakRssBytes: B4_TARGET_MAX_RSS_BYTES, maxRssGrowth: B4_TARGET_MAX_RSS_GROWTH },
      met: { ratio: full.ratio <= B4_TARGET_MAX_RATIO, peakRss: atFull <= B4_TARGET_MAX_RSS_BYTES, flat: growth <= B4_TARGET_MAX_RSS_GROWTH },
    };
  } finally {
    s3.destroy();
  }
}
