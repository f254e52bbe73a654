/**
 * B2 query: six canonical queries through `GET /events/:collection?query=` (p50 and p95 over `runs`
 * runs), against the physical limit: the same answers from the best SQL a person would write by hand
 * for this schema, run through `pg` directly. Each run sends the query once each way, alternating which
 * goes first, so noise lands on both; every answer pair is compared, so the baseline cannot be fast by
 * answering something else.
 */
import { DateTime } from 'luxon';
import { authHeaders, BenchContext, connect } from './lib/context';
import { WINDOW_END } from './lib/dataset';
import { alternate, latency, Latency, ratio, since } from './lib/stats';

/** The largest ratio of the service's p50 to the hand-written SQL's that meets the target (bench/README.md). */
export const B2_TARGET_MAX_RATIO = 1.5;

/** The collection the queries read (half of the events). */
const COLLECTION = 'purchases';
/** A named timezone with a DST change inside the window (1 November 2026), so a 25-hour day is in the answer. */
const TIMEZONE = 'America/New_York';

/** An answer reduced to comparable numbers: `key → value` (a group, a bucket, an aggregate). */
type Canonical = Record<string, number>;

interface ServiceBody {
  results: Array<Record<string, unknown>>;
}

interface CanonicalQuery {
  id: string;
  title: string;
  /** The Connect query document sent to the service. */
  doc: Record<string, unknown>;
  /** The hand-written SQL; `$1` is the project id, `$2` the collection. */
  sql: string;
  values: unknown[];
  fromService(body: ServiceBody): Canonical;
  fromSql(rows: Array<Record<string, unknown>>): Canonical;
}

export interface QueryResult {
  id: string;
  title: string;
  query: Record<string, unknown>;
  sql: string;
  service: Latency;
  baseline: Latency;
  /** service ÷ baseline, of p50 and of p95 (lower is better; the target applies to p50). */
  ratio: { p50: number; p95: number };
  /** Whether the service and the SQL gave the same answer (numbers equal to 1e-9 relative). */
  answersMatch: boolean;
  /** Result rows or buckets in the answer. */
  resultRows: number;
  met: boolean;
}

export type QueryBenchResult =
  | {
      available: true;
      collection: string;
      runs: number;
      warmup: number;
      queries: QueryResult[];
      target: { maxRatio: number };
      met: boolean;
    }
  | { available: false; skipped: string };

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

/** The six queries of bench/README.md, on the data set's window. */
function canonicalQueries(): CanonicalQuery[] {
  const last30 = { start: new Date(WINDOW_END.getTime() - 30 * 86_400_000).toISOString(), end: WINDOW_END.toISOString() };
  // 90 whole local days in TIMEZONE, ending with the local day the window's last instant falls in.
  const localEnd = DateTime.fromJSDate(WINDOW_END, { zone: TIMEZONE }).startOf('day').plus({ days: 1 });
  const days90 = { start: localEnd.minus({ days: 90 }).toISO()!, end: localEnd.toISO()! };
  const price = `(properties->>'totalPrice')::numeric`;
  const scope = `project_id = $1 AND collection = $2`;
  const plain =
    (alias: string) =>
    (body: ServiceBody): Canonical => ({
      count: num(body.results[0]._count),
      [alias]: num(body.results[0][alias]),
    });
  return [
    {
      id: 'count-timeframe',
      title: 'count in a timeframe (30 days)',
      doc: { select: { events: 'count' }, timeframe: last30 },
      sql: `SELECT count(*) AS count FROM events WHERE ${scope} AND "timestamp" >= $3 AND "timestamp" < $4`,
      values: [last30.start, last30.end],
      fromService: (body) => ({ count: num(body.results[0].events) }),
      fromSql: (rows) => ({ count: num(rows[0].count) }),
    },
    {
      id: 'sum-eq',
      title: 'sum with an eq filter',
      doc: { select: { revenue: { sum: 'totalPrice' } }, filter: { 'product.category': 'Bikes' } },
      sql: `SELECT sum(${price}) AS revenue, count(*) AS count FROM events
             WHERE ${scope} AND properties->'product'->>'category' = 'Bikes'`,
      values: [],
      fromService: plain('revenue'),
      fromSql: (rows) => ({ count: num(rows[0].count), revenue: num(rows[0].revenue) }),
    },
    {
      id: 'avg-gt',
      title: 'avg with a gt filter',
      doc: { select: { averageQuantity: { avg: 'quantity' } }, filter: { totalPrice: { gt: 1000 } } },
      sql: `SELECT avg((properties->>'quantity')::numeric) AS "averageQuantity", count(*) AS count FROM events
             WHERE ${scope} AND ${price} > 1000`,
      values: [],
      fromService: plain('averageQuantity'),
      fromSql: (rows) => ({ count: num(rows[0].count), averageQuantity: num(rows[0].averageQuantity) }),
    },
    {
      id: 'group-by',
      title: 'groupBy a string property',
      doc: { select: { revenue: { sum: 'totalPrice' } }, groupBy: 'customer.address.country' },
      sql: `SELECT properties->'customer'->'address'->>'country' AS country, sum(${price}) AS revenue, count(*) AS count
              FROM events WHERE ${scope} GROUP BY 1 ORDER BY 1`,
      values: [],
      fromService: (body) =>
        Object.fromEntries(
          body.results.flatMap((r) => [
            [`${String(r['customer.address.country'])}|revenue`, num(r.revenue)],
            [`${String(r['customer.address.country'])}|count`, num(r._count)],
          ]),
        ),
      fromSql: (rows) =>
        Object.fromEntries(
          rows.flatMap((r) => [
            [`${String(r.country)}|revenue`, num(r.revenue)],
            [`${String(r.country)}|count`, num(r.count)],
          ]),
        ),
    },
    {
      id: 'interval',
      title: `daily interval, 90 days, ${TIMEZONE}`,
      doc: { select: { events: 'count' }, timeframe: days90, interval: 'daily', timezone: TIMEZONE },
      sql: `SELECT date_trunc('day', "timestamp", '${TIMEZONE}') AS day, count(*) AS count FROM events
             WHERE ${scope} AND "timestamp" >= $3 AND "timestamp" < $4 GROUP BY 1 ORDER BY 1`,
      values: [days90.start, days90.end],
      fromService: (body) =>
        Object.fromEntries(
          body.results.flatMap((bucket) => {
            const start = Date.parse((bucket.interval as { start: string }).start);
            return (bucket.results as Array<Record<string, unknown>>).map((r) => [`${start}|count`, num(r.events)]);
          }),
        ),
      fromSql: (rows) => Object.fromEntries(rows.map((r) => [`${(r.day as Date).getTime()}|count`, num(r.count)])),
    },
    {
      id: 'interval-group-by',
      title: `daily interval + groupBy, 90 days, ${TIMEZONE}`,
      doc: {
        select: { revenue: { sum: 'totalPrice' } },
        timeframe: days90,
        interval: 'daily',
        timezone: TIMEZONE,
        groupBy: 'product.category',
      },
      sql: `SELECT date_trunc('day', "timestamp", '${TIMEZONE}') AS day, properties->'product'->>'category' AS category,
                   sum(${price}) AS revenue, count(*) AS count
              FROM events WHERE ${scope} AND "timestamp" >= $3 AND "timestamp" < $4 GROUP BY 1, 2 ORDER BY 1, 2`,
      values: [days90.start, days90.end],
      fromService: (body) =>
        Object.fromEntries(
          body.results.flatMap((bucket) => {
            const start = Date.parse((bucket.interval as { start: string }).start);
            return (bucket.results as Array<Record<string, unknown>>).flatMap((r) => [
              [`${start}|${String(r['product.category'])}|revenue`, num(r.revenue)],
              [`${start}|${String(r['product.category'])}|count`, num(r._count)],
            ]);
          }),
        ),
      fromSql: (rows) =>
        Object.fromEntries(
          rows.flatMap((r) => {
            const start = (r.day as Date).getTime();
            return [
              [`${start}|${String(r.category)}|revenue`, num(r.revenue)],
              [`${start}|${String(r.category)}|count`, num(r.count)],
            ];
          }),
        ),
    },
  ];
}

/** Same keys, every value equal to 1e-9 relative (sums and averages are exact decimals on both sides, then doubles). */
function sameAnswer(a: Canonical, b: Canonical): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => k in b && (a[k] === b[k] || Math.abs(a[k] - b[k]) <= 1e-9 * Math.max(Math.abs(a[k]), Math.abs(b[k]))));
}

function queryPath(doc: unknown): string {
  return `/events/${COLLECTION}?query=${encodeURIComponent(JSON.stringify(doc))}`;
}

/**
 * Whether `GET /events/:collection?query=` answers (an older build may lack it):
 * a count query must answer 200 with `results`.
 */
export async function queryEndpointAvailable(ctx: BenchContext): Promise<{ available: boolean; why: string }> {
  const answer = await ctx.http.request('GET', queryPath({ select: { n: 'count' } }), authHeaders(ctx.project, 'query'));
  if (answer.status !== 200) return { available: false, why: `HTTP ${answer.status}` };
  try {
    const body = JSON.parse(answer.body.toString('utf8')) as ServiceBody;
    return Array.isArray(body.results) ? { available: true, why: '' } : { available: false, why: 'no results in the answer' };
  } catch {
    return { available: false, why: 'the answer is not JSON' };
  }
}

export async function runQueries(ctx: BenchContext): Promise<QueryBenchResult> {
  const probe = await queryEndpointAvailable(ctx);
  if (!probe.available) {
    ctx.log(`B2 skipped: query endpoint not available (${probe.why})`);
    return { available: false, skipped: 'query endpoint not available' };
  }
  const client = await connect(ctx.databaseUrl);
  const headers = authHeaders(ctx.project, 'query');
  const results: QueryResult[] = [];
  try {
    for (const q of canonicalQueries()) {
      const path = queryPath(q.doc);
      const values = [ctx.project.projectId, COLLECTION, ...q.values];
      const viaHttp = async (): Promise<{ ms: number; body: ServiceBody }> => {
        const t = performance.now();
        const answer = await ctx.http.request('GET', path, headers);
        const ms = since(t);
        if (answer.status !== 200) throw new Error(`B2 ${q.id}: HTTP ${answer.status}: ${answer.body.toString('utf8').slice(0, 500)}`);
        return { ms, body: JSON.parse(answer.body.toString('utf8')) as ServiceBody };
      };
      const viaSql = async (): Promise<{ ms: number; rows: Array<Record<string, unknown>> }> => {
        const t = performance.now();
        const { rows } = await client.query<Record<string, unknown>>(q.sql, values);
        return { ms: since(t), rows };
      };
      const serviceMs: number[] = [];
      const baselineMs: number[] = [];
      let answersMatch = true;
      let resultRows = 0;
      for (let run = 0; run < ctx.options.warmup + ctx.options.runs; run++) {
        const [service, baseline] = await alternate(run, viaHttp, viaSql);
        if (run === 0 || run === ctx.options.warmup) {
          answersMatch &&= sameAnswer(q.fromService(service.body), q.fromSql(baseline.rows));
          resultRows = service.body.results.length;
        }
        if (run >= ctx.options.warmup) {
          serviceMs.push(service.ms);
          baselineMs.push(baseline.ms);
        }
      }
      const s = latency(serviceMs);
      const b = latency(baselineMs);
      const r = { p50: ratio(s.p50Ms, b.p50Ms), p95: ratio(s.p95Ms, b.p95Ms) };
      if (!answersMatch) ctx.log(`B2 ${q.id}: the service and the SQL answered differently`);
      ctx.log(`B2 ${q.title}: p50 ${s.p50Ms} ms vs ${b.p50Ms} ms (×${r.p50}), p95 ${s.p95Ms} ms vs ${b.p95Ms} ms`);
      results.push({
        id: q.id,
        title: q.title,
        query: q.doc,
        sql: q.sql.replace(/\s+/g, ' '),
        service: s,
        baseline: b,
        ratio: r,
        answersMatch,
        resultRows,
        met: r.p50 <= B2_TARGET_MAX_RATIO,
      });
    }
  } finally {
    await client.end();
  }
  return {
    available: true,
    collection: COLLECTION,
    runs: ctx.options.runs,
    warmup: ctx.options.warmup,
    queries: results,
    target: { maxRatio: B2_TARGET_MAX_RATIO },
    met: results.every((q) => q.met),
  };
}

/** For bench/explain.ts: the six queries' documents and hand-written SQL. */
export function queriesForExplain(): Array<Pick<CanonicalQuery, 'id' | 'doc' | 'sql' | 'values'> & { collection: string }> {
  return canonicalQueries().map(({ id, doc, sql, values }) => ({ id, doc, sql, values, collection: COLLECTION }));
}
