/**
 * B5 S3 import: the data set as one NDJSON object on the local S3 server (one event per line, as the
 * data set's events are pushed: `{"id": …, "timestamp": …, …properties}`, ids included, no `tp_`
 * fields), imported into one collection through `POST /event-import`, POST → Complete (the monitor's
 * `finished`), against the physical limit: the same object streamed from the same S3 server
 * (`GetObject`) into `COPY events (project_id, collection, event_id, "timestamp", properties) FROM
 * STDIN`, one COPY statement (one commit) per IMPORT_BATCH_LINES lines as the service commits each
 * batch, on one connection, each line turned into a COPY row with `JSON.parse` and `JSON.stringify`.
 *
 * What the baseline does not do: no validation (types, sizes, depth, reserved names, timestamps: the
 * text goes to PostgreSQL as it is), no id generation (every line has one), no de-duplication (a
 * repeated id would fail its COPY on the unique index, not be skipped), no position committed with
 * each batch (nothing to resume from), no error list, no progress.
 *
 * Run on the object's first N/10 lines and on all N, so the import worker's peak RSS at N/10 can be
 * set against N; in each phase the side that goes first alternates. Each side's rows are counted and
 * checksummed (untimed), then deleted and the table vacuumed, so both sides import into the same
 * table: the pushed data set and nothing else. The service imports into the bench's project, the
 * baseline into a scratch project; both into the collection IMPORT_COLLECTION.
 */
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadSection } from '../src/config/configuration';
import { authHeaders, BenchContext, connect } from './lib/context';
import { ratio } from './lib/stats';

/** The smallest ratio of the service's events/s to the baseline's that meets the target (bench/README.md). */
export const B5_TARGET_MIN_RATIO = 0.5;
/** The most the import worker's peak RSS may be at N (256 MiB). */
export const B5_TARGET_MAX_RSS_BYTES = 256 * 1024 * 1024;
/** "Flat": the peak at N may exceed the peak at N/10 by at most this factor. */
export const B5_TARGET_MAX_RSS_GROWTH = 1.1;
/** The collection both sides import into. */
export const IMPORT_COLLECTION = 'imported';
/** Project id of the baseline's rows: a scratch project, deleted after B5. */
export const B5_SCRATCH_PROJECT_ID = 'b5000000000000000000000b';
const COPY_SQL = 'COPY events (project_id, collection, event_id, "timestamp", properties) FROM STDIN';
const POLL_MS = 100;

/** Lines per batch: the service's IMPORT_BATCH_LINES, read as the service reads it (it inherits the harness's environment, .env included). */
function batchLines(): number {
  return loadSection('imports').batchLines;
}

/** What a side stored: its rows' count and an order-independent checksum of their columns. */
export interface StoredRows {
  events: number;
  /** Σ of the first 60 bits of md5(event_id, timestamp, properties) over the rows, as decimal text. */
  checksum: string;
}

export interface ImportPhase {
  label: string;
  events: number;
  /** Size of the NDJSON object, bytes. */
  objectBytes: number;
  key: string;
  /** Which side ran first in this phase. */
  first: 'service' | 'baseline';
  service: {
    /** POST → the monitor's `finished` (end to end, the job's pick-up included), s. */
    seconds: number;
    eventsPerSecond: number;
    /** The monitor's `started` → `finished`, s. */
    startedToFinishedSeconds: number;
    /** POST → the monitor's `started` (queueing and the claim), s. */
    queuedSeconds: number;
    importedEvents: number;
    duplicateEvents: number;
    eventErrors: number;
    /** The monitor's own `insertRate`. */
    insertRate: string;
    stored: StoredRows;
  };
  baseline: { seconds: number; eventsPerSecond: number; copies: number; stored: StoredRows };
  /** service events/s ÷ baseline events/s (higher is better). */
  ratio: number;
  /** Both sides stored exactly the object's events: same count and checksum. */
  identical: boolean;
  workerRssAtStartBytes: number;
  workerPeakRssBytes: number;
  rssSamples: number;
  /** The worker's RSS during the service's import: [seconds since the POST, MiB], every 0.5 s. */
  workerRssTimeline: Array<[number, number]>;
}

export interface S3ImportResult {
  batchLines: number;
  /** Whether the lines carry their events' ids (they do: both sides store the same ids, and de-duplication is paid on every line). */
  withIds: boolean;
  /** What the baseline does, in words. */
  baselineMethod: string;
  phases: ImportPhase[];
  /** Of the full phase (N events). */
  ratio: number;
  peakRss: { atTenthBytes: number; atFullBytes: number; growth: number };
  target: { minRatio: number; maxPeakRssBytes: number; maxRssGrowth: number };
  met: { ratio: boolean; peakRss: boolean; flat: boolean };
}

interface MonitorDocument {
  status: string;
  created: string;
  started: string | null;
  finished: string | null;
  importedEvents: number;
  duplicateEvents: number;
  percentComplete: number;
  insertRate: string;
  error: string | null;
  eventErrors: unknown[];
}

/**
 * The data set as NDJSON, one chunk per batch: each event as `JSON.stringify` wrote it into the
 * push bodies (`id` and `timestamp` first), one per line, in batch order.
 */
function ndjsonChunks(ctx: BenchContext, events: number): { chunks: Buffer[]; bytes: number } {
  const chunks: Buffer[] = [];
  let left = events;
  let bytes = 0;
  for (const batch of ctx.dataset.batches) {
    if (left === 0) break;
    const body = JSON.parse(batch.body.toString('utf8')) as Record<string, unknown[]>;
    const lines: string[] = [];
    for (const list of Object.values(body)) {
      for (const event of list) {
        if (left === 0) break;
        lines.push(`${JSON.stringify(event)}\n`);
        left--;
      }
    }
    const chunk = Buffer.from(lines.join(''), 'utf8');
    chunks.push(chunk);
    bytes += chunk.length;
  }
  return { chunks, bytes };
}

async function uploadObject(ctx: BenchContext, s3: S3Client, key: string, chunks: Buffer[]): Promise<void> {
  const upload = new Upload({
    client: s3,
    params: { Bucket: ctx.s3.bucket, Key: key, Body: Readable.from(chunks), ContentType: 'application/x-ndjson' },
    partSize: 8 * 1024 * 1024,
    queueSize: 4,
  });
  await upload.done();
}

/** The count and checksum of one side's rows (untimed). */
async function storedRows(ctx: BenchContext, projectId: string): Promise<StoredRows> {
  const { rows } = await ctx.admin.query<{ n: string; checksum: string }>(
    `SELECT count(*) AS n,
            coalesce(sum(('x' || substr(md5(event_id::text || E'\\x01' || "timestamp"::text || E'\\x01' || properties::text), 1, 15))
              ::bit(60)::bigint), 0)::text AS checksum
       FROM events WHERE project_id = $1 AND collection = $2`,
    [projectId, IMPORT_COLLECTION],
  );
  return { events: Number(rows[0].n), checksum: rows[0].checksum };
}

/** Deletes one side's rows and vacuums, so the other side imports into the table as it was (untimed). */
async function removeRows(ctx: BenchContext, projectId: string): Promise<void> {
  await ctx.admin.query('DELETE FROM events WHERE project_id = $1 AND collection = $2', [projectId, IMPORT_COLLECTION]);
  await ctx.admin.query('VACUUM (ANALYZE) events');
  await ctx.admin.query('CHECKPOINT').catch(() => undefined);
}

async function serviceImport(ctx: BenchContext, key: string): Promise<{ postedAt: number; doc: MonitorDocument }> {
  const body = {
    collection: IMPORT_COLLECTION,
    s3Path: `${ctx.s3.endpoint}/${ctx.s3.bucket}/${key}`,
    s3AccessKeyId: ctx.s3.accessKeyId,
    s3SecretAccessKey: ctx.s3.secretAccessKey,
  };
  const postedAt = Date.now();
  const created = await ctx.http.json<MonitorDocument>('POST', '/event-import', authHeaders(ctx.project, 'push'), 201, body);
  const monitor = new URL(String(created.headers.location)).pathname;
  let doc = created.body;
  while (doc.status === 'Pending' || doc.status === 'Running') {
    await new Promise((r) => setTimeout(r, POLL_MS));
    doc = (await ctx.http.json<MonitorDocument>('GET', monitor, authHeaders(ctx.project, 'push'), 200)).body;
  }
  if (doc.status !== 'Complete') throw new Error(`B5: the import of ${key} ended ${doc.status}: ${doc.error}`);
  return { postedAt, doc };
}

/** A COPY text-format field holding JSON: JSON text has no raw tab, newline or CR, only backslashes to double. */
function copyField(json: string): string {
  return json.includes('\\') ? json.replace(/\\/g, '\\\\') : json;
}

/**
 * The baseline: GetObject → lines → COPY rows → one COPY statement per `lines` lines, on one
 * connection; rows are written into the open COPY as they are made, so parsing overlaps PostgreSQL's
 * work within a batch. @returns wall time (GetObject sent → last COPY committed) and COPY statements.
 */
async function baselineImport(ctx: BenchContext, s3: S3Client, key: string, lines: number): Promise<{ seconds: number; copies: number }> {
  const client = await connect(ctx.databaseUrl);
  try {
    const prefix = `${B5_SCRATCH_PROJECT_ID}\t${IMPORT_COLLECTION}\t`;
    const started = performance.now();
    const answer = await s3.send(new GetObjectCommand({ Bucket: ctx.s3.bucket, Key: key }));
    let copy: Writable | null = null;
    let copies = 0;
    let inBatch = 0;
    let rows: string[] = [];
    const open = (c: Client): Writable => {
      copies++;
      return c.query(copyFrom(COPY_SQL));
    };
    const flush = async (): Promise<void> => {
      if (rows.length === 0) return;
      copy ??= open(client);
      const ok = copy.write(rows.join(''));
      rows = [];
      if (!ok) await once(copy, 'drain');
    };
    const commit = async (): Promise<void> => {
      await flush();
      if (!copy) return;
      const stream = copy;
      copy = null;
      stream.end();
      await finished(stream);
    };
    const line = async (text: string): Promise<void> => {
      const { id, timestamp, ...properties } = JSON.parse(text) as { id: unknown; timestamp: unknown };
      rows.push(`${prefix}${copyField(JSON.stringify(id))}\t${String(timestamp)}\t${copyField(JSON.stringify(properties))}\n`);
      if (++inBatch === lines) {
        inBatch = 0;
        await commit();
      }
    };
    let rest: Buffer | null = null;
    for await (const raw of answer.Body as Readable) {
      const chunk: Buffer = rest ? Buffer.concat([rest, raw as Buffer]) : (raw as Buffer);
      let at = 0;
      for (let nl = chunk.indexOf(0x0a, at); nl !== -1; nl = chunk.indexOf(0x0a, at)) {
        if (nl > at) await line(chunk.toString('utf8', at, nl));
        at = nl + 1;
      }
      rest = at < chunk.length ? chunk.subarray(at) : null;
      await flush();
    }
    if (rest && rest.length > 0) await line(rest.toString('utf8'));
    await commit();
    return { seconds: (performance.now() - started) / 1000, copies };
  } finally {
    await client.end();
  }
}

async function runPhase(
  ctx: BenchContext,
  s3: S3Client,
  label: string,
  events: number,
  index: number,
  lines: number,
): Promise<ImportPhase> {
  const { chunks, bytes } = ndjsonChunks(ctx, events);
  const key = `imports/dataset-${events}.ndjson`;
  await uploadObject(ctx, s3, key, chunks);
  ctx.log(`B5 ${label}: ${events.toLocaleString('en-US')} events, ${(bytes / 1024 / 1024).toFixed(1)} MiB of NDJSON uploaded to ${key}`);

  const workerRssAtStartBytes = ctx.workerRss.current();
  let service: ImportPhase['service'] | undefined;
  let peak: ReturnType<BenchContext['workerRss']['peak']> | undefined;
  let baseline: ImportPhase['baseline'] | undefined;
  const runService = async (): Promise<void> => {
    ctx.workerRss.phase();
    const { postedAt, doc } = await serviceImport(ctx, key);
    peak = ctx.workerRss.peak();
    const finishedAt = Date.parse(doc.finished!);
    const startedAt = Date.parse(doc.started!);
    const seconds = (finishedAt - postedAt) / 1000;
    const stored = await storedRows(ctx, ctx.project.projectId);
    await removeRows(ctx, ctx.project.projectId);
    service = {
      seconds,
      eventsPerSecond: Math.round(events / seconds),
      startedToFinishedSeconds: (finishedAt - startedAt) / 1000,
      queuedSeconds: (startedAt - postedAt) / 1000,
      importedEvents: doc.importedEvents,
      duplicateEvents: doc.duplicateEvents,
      eventErrors: doc.eventErrors.length,
      insertRate: doc.insertRate,
      stored,
    };
    ctx.log(
      `B5 ${label}: service ${seconds.toFixed(2)} s (${service.eventsPerSecond} events/s; ` +
        `started → finished ${service.startedToFinishedSeconds.toFixed(2)} s)`,
    );
  };
  const runBaseline = async (): Promise<void> => {
    const run = await baselineImport(ctx, s3, key, lines);
    const stored = await storedRows(ctx, B5_SCRATCH_PROJECT_ID);
    await removeRows(ctx, B5_SCRATCH_PROJECT_ID);
    baseline = { seconds: run.seconds, eventsPerSecond: Math.round(events / run.seconds), copies: run.copies, stored };
    ctx.log(`B5 ${label}: GetObject → COPY ${run.seconds.toFixed(2)} s (${baseline.eventsPerSecond} events/s, ${run.copies} COPYs)`);
  };
  const first = index % 2 === 0 ? 'service' : 'baseline';
  if (first === 'service') {
    await runService();
    await runBaseline();
  } else {
    await runBaseline();
    await runService();
  }
  await s3.send(new DeleteObjectCommand({ Bucket: ctx.s3.bucket, Key: key }));
  const s = service!;
  const b = baseline!;
  const identical =
    s.stored.events === events &&
    b.stored.events === events &&
    s.stored.checksum === b.stored.checksum &&
    s.importedEvents === events &&
    s.duplicateEvents === 0;
  if (!identical) {
    ctx.log(
      `B5 ${label}: the sides stored different events (service ${JSON.stringify(s.stored)}, ` +
        `baseline ${JSON.stringify(b.stored)}, expected ${events})`,
    );
  }
  return {
    label,
    events,
    objectBytes: bytes,
    key,
    first,
    service: s,
    baseline: b,
    ratio: ratio(s.eventsPerSecond, b.eventsPerSecond),
    identical,
    workerRssAtStartBytes,
    workerPeakRssBytes: peak!.peakRssBytes,
    rssSamples: peak!.samples,
    workerRssTimeline: peak!.timeline,
  };
}

export async function runS3Import(ctx: BenchContext): Promise<S3ImportResult> {
  // A fresh worker, so its RSS is the imports' alone (not what B4's exports left behind).
  await ctx.replaceWorker({}, 'SIGTERM');
  await ctx.admin.query(
    `INSERT INTO projects (id, name, master_key_encrypted) VALUES ($1, 'bench: B5 COPY baseline (scratch)', 'none') ON CONFLICT DO NOTHING`,
    [B5_SCRATCH_PROJECT_ID],
  );
  const s3 = new S3Client({
    endpoint: ctx.s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ctx.s3.accessKeyId, secretAccessKey: ctx.s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const lines = batchLines();
  try {
    const n = ctx.dataset.events;
    const tenth = Math.max(1, Math.round(n / 10));
    const phases = [await runPhase(ctx, s3, 'N/10', tenth, 0, lines), await runPhase(ctx, s3, 'N', n, 1, lines)];
    const [atTenth, atFull] = phases.map((p) => p.workerPeakRssBytes);
    const growth = ratio(atFull, atTenth);
    const full = phases[1];
    return {
      batchLines: lines,
      withIds: true,
      baselineMethod:
        `GetObject → split on '\\n' → JSON.parse each line, {id, timestamp, ...properties} → COPY text row → ${COPY_SQL}, ` +
        `one statement per ${lines} lines, one connection; no validation, no de-duplication, no position`,
      phases,
      ratio: full.ratio,
      peakRss: { atTenthBytes: atTenth, atFullBytes: atFull, growth },
      target: { minRatio: B5_TARGET_MIN_RATIO, maxPeakRssBytes: B5_TARGET_MAX_RSS_BYTES, maxRssGrowth: B5_TARGET_MAX_RSS_GROWTH },
      met: {
        ratio: full.ratio >= B5_TARGET_MIN_RATIO,
        peakRss: atFull <= B5_TARGET_MAX_RSS_BYTES,
        flat: growth <= B5_TARGET_MAX_RSS_GROWTH,
      },
    };
  } finally {
    s3.destroy();
    await ctx.admin.query('DELETE FROM projects WHERE id = $1', [B5_SCRATCH_PROJECT_ID]).catch(() => undefined);
  }
}
