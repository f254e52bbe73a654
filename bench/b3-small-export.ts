/**
 * B3 small export: `GET /events/:collection/export?query=` for a filter and timeframe selecting
 * 10,000 events (p50 and p95 over `runs` runs), against the physical limit: the same rows selected
 * and serialised (each event's JSON text made by PostgreSQL, with the service's line expression,
 * lib/event-line.ts) through `pg` directly, joined into the same `{"results":[...]}` body. Both bodies are compared byte for byte. (One `string_agg` row was tried
 * and is slower: its ORDER BY sorts 4.6 MB of text, past work_mem.)
 */
import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { authHeaders, BenchContext, connect } from './lib/context';
import { WINDOW_START } from './lib/dataset';
import { eventLineSql } from './lib/event-line';
import { alternate, latency, Latency, ratio, since } from './lib/stats';

/** The largest ratio of the service's p50 to the hand-written SQL's that meets the target (bench/README.md). */
export const B3_TARGET_MAX_RATIO = 1.5;
/** The most events a small export may return (Connect docs, "Exporting events"). */
const SMALL_EXPORT_MAX = 10_000;
const COLLECTION = 'purchases';
const FILTER_VALUE = 'card';

export interface SmallExportResult {
  collection: string;
  query: Record<string, unknown>;
  sql: string;
  events: number;
  bodyBytes: number;
  service: Latency;
  baseline: Latency;
  /** service ÷ baseline, of p50 and of p95 (lower is better; the target applies to p50). */
  ratio: { p50: number; p95: number };
  /** Whether both bodies were identical, byte for byte. */
  answersMatch: boolean;
  target: { maxRatio: number };
  met: boolean;
}

/** The small export's query (filter + timeframe selecting at most 10,000 events) and the hand-written SQL for the same rows. */
export async function smallExportSelection(
  admin: Client,
  projectId: string,
): Promise<{ collection: string; query: Record<string, unknown>; sql: string; values: unknown[] }> {
  const selected = `e.project_id = $1 AND e.collection = $2 AND e.properties->>'paymentMethod' = $3`;
  // The timeframe ends where the 10,001st matching event starts, so at most 10,000 events match.
  const { rows: boundary } = await admin.query<{ ts: Date }>(
    `SELECT e."timestamp" AS ts FROM events e WHERE ${selected} ORDER BY e."timestamp", e.id OFFSET ${SMALL_EXPORT_MAX} LIMIT 1`,
    [projectId, COLLECTION, FILTER_VALUE],
  );
  const start = WINDOW_START.toISOString();
  const end = boundary[0]?.ts.toISOString() ?? null;
  const query = { filter: { paymentMethod: FILTER_VALUE }, timeframe: end ? { start, end } : { start } };
  const sql = `SELECT ${eventLineSql()} AS line FROM events e
                WHERE ${selected} AND e."timestamp" >= $4${end ? ' AND e."timestamp" < $5' : ''} ORDER BY e."timestamp", e.id`;
  const values = [projectId, COLLECTION, FILTER_VALUE, start, ...(end ? [end] : [])];
  return { collection: COLLECTION, query, sql, values };
}

export async function runSmallExport(ctx: BenchContext): Promise<SmallExportResult> {
  const { query, sql, values } = await smallExportSelection(ctx.admin, ctx.project.projectId);
  const path = `/events/${COLLECTION}/export?query=${encodeURIComponent(JSON.stringify(query))}`;
  const headers = authHeaders(ctx.project, 'query');

  const client = await connect(ctx.databaseUrl);
  const serviceMs: number[] = [];
  const baselineMs: number[] = [];
  let answersMatch = true;
  let bodyBytes = 0;
  let events = 0;
  try {
    const viaHttp = async (): Promise<{ ms: number; body: Buffer }> => {
      const t = performance.now();
      const answer = await ctx.http.request('GET', path, headers);
      const ms = since(t);
      if (answer.status !== 200) throw new Error(`B3: HTTP ${answer.status}: ${answer.body.toString('utf8').slice(0, 500)}`);
      return { ms, body: answer.body };
    };
    const viaSql = async (): Promise<{ ms: number; body: Buffer }> => {
      const t = performance.now();
      const { rows } = await client.query<[string]>({ text: sql, values, rowMode: 'array' });
      let text = '{"results":[';
      for (let i = 0; i < rows.length; i++) text += i === 0 ? rows[i][0] : `,${rows[i][0]}`;
      const body = Buffer.from(`${text}]}`, 'utf8');
      return { ms: since(t), body };
    };
    for (let run = 0; run < ctx.options.warmup + ctx.options.runs; run++) {
      const [service, baseline] = await alternate(run, viaHttp, viaSql);
      if (run === 0) {
        const hash = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
        answersMatch = hash(service.body) === hash(baseline.body);
        bodyBytes = service.body.length;
        events = (JSON.parse(service.body.toString('utf8')) as { results: unknown[] }).results.length;
      }
      if (run >= ctx.options.warmup) {
        serviceMs.push(service.ms);
        baselineMs.push(baseline.ms);
      }
    }
  } finally {
    await client.end();
  }
  const s = latency(serviceMs);
  const b = latency(baselineMs);
  const r = { p50: ratio(s.p50Ms, b.p50Ms), p95: ratio(s.p95Ms, b.p95Ms) };
  if (!answersMatch) ctx.log('B3: the service and the SQL bodies differ');
  ctx.log(`B3 small export of ${events} events: p50 ${s.p50Ms} ms vs ${b.p50Ms} ms (×${r.p50})`);
  return {
    collection: COLLECTION,
    query,
    sql: sql.replace(/\s+/g, ' '),
    events,
    bodyBytes,
    service: s,
    baseline: b,
    ratio: r,
    answersMatch,
    target: { maxRatio: B3_TARGET_MAX_RATIO },
    met: r.p50 <= B3_TARGET_MAX_RATIO,
  };
}
