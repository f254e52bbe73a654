/**
 * B1 ingest: every event of the data set through `POST /events` (batches of 5,000, `concurrency` in
 * flight), against the physical limit: the same rows through PostgreSQL `COPY ... FROM STDIN` into
 * the same `events` table (a scratch project, deleted afterwards), with the same batches and the same
 * concurrency, one COPY statement (one commit) per batch, as the API commits each batch.
 *
 * Side by side: the batches are pushed in rounds of `4 × concurrency` batches, and each round is sent
 * once through HTTP and once through COPY (in alternating order), so both see the table at the same
 * size and a burst of noise from other work on the machine lands on both.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { authHeaders, BenchContext, connect } from './lib/context';
import { Batch, SCRATCH_PROJECT_ID } from './lib/dataset';
import { mapConcurrent, ratio, since } from './lib/stats';

/** The smallest ratio of the service's events/s to COPY's that meets the target (bench/README.md). */
export const B1_TARGET_MIN_RATIO = 0.5;

export interface IngestSide {
  seconds: number;
  eventsPerSecond: number;
}

export interface IngestResult {
  events: number;
  batches: number;
  batchSize: number;
  concurrency: number;
  rounds: number;
  /** Through `POST /events`. */
  service: IngestSide;
  /** Through `COPY events (...) FROM STDIN`, one statement per batch. */
  baseline: IngestSide & { method: string };
  /** service events/s ÷ baseline events/s (higher is better; target ≥ 0.5). */
  ratio: number;
  target: { minRatio: number };
  met: boolean;
}

/** How long to wait between the HTTP and the COPY half of a round, ms. */
const SETTLE_MS = 250;
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

const COPY_SQL = 'COPY events (project_id, collection, event_id, "timestamp", properties) FROM STDIN';

/** Sends one batch through `POST /events`, expecting every event to be stored. */
async function pushBatch(ctx: BenchContext, batch: Batch): Promise<void> {
  const answer = await ctx.http.request('POST', '/events', authHeaders(ctx.project, 'push'), batch.body);
  if (answer.status !== 200) {
    throw new Error(`POST /events answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 500)}`);
  }
  if (answer.body.includes('"success":false')) {
    throw new Error(`POST /events refused an event: ${answer.body.toString('utf8').slice(0, 500)}`);
  }
}

async function copyBatch(client: Client, batch: Batch): Promise<void> {
  await pipeline(Readable.from([batch.copy]), client.query(copyFrom(COPY_SQL)));
}

/** Pushes the whole data set through HTTP without measuring (when B1 is not selected). */
export async function pushAll(ctx: BenchContext): Promise<void> {
  await mapConcurrent(ctx.dataset.batches, ctx.options.concurrency, (batch) => pushBatch(ctx, batch));
}

export async function runIngest(ctx: BenchContext): Promise<IngestResult> {
  const { batches } = ctx.dataset;
  const { concurrency } = ctx.options;
  await ctx.admin.query(
    `INSERT INTO projects (id, name, master_key_encrypted) VALUES ($1, 'bench: COPY baseline (scratch)', 'none') ON CONFLICT DO NOTHING`,
    [SCRATCH_PROJECT_ID],
  );
  const clients = await Promise.all(Array.from({ length: concurrency }, () => connect(ctx.databaseUrl)));
  await ctx.admin.query('CHECKPOINT').catch(() => undefined);

  const roundSize = 4 * concurrency;
  let serviceMs = 0;
  let baselineMs = 0;
  let rounds = 0;
  try {
    for (let first = 0; first < batches.length; first += roundSize) {
      const round = batches.slice(first, first + roundSize);
      const service = async (): Promise<void> => {
        const t = performance.now();
        await mapConcurrent(round, concurrency, (batch) => pushBatch(ctx, batch));
        serviceMs += since(t);
      };
      const baseline = async (): Promise<void> => {
        const t = performance.now();
        // Each COPY worker has a connection of its own and takes the next batch, like mapConcurrent.
        let next = 0;
        await Promise.all(
          clients.slice(0, Math.min(concurrency, round.length)).map(async (client) => {
            while (next < round.length) await copyBatch(client, round[next++]);
          }),
        );
        baselineMs += since(t);
      };
      // A pause between the halves lets the work one side leaves behind (the API's garbage
      // collection, PostgreSQL's background writes) settle before the other side is timed.
      if (rounds % 2 === 0) {
        await service();
        await settle();
        await baseline();
      } else {
        await baseline();
        await settle();
        await service();
      }
      await settle();
      rounds++;
      ctx.log(`B1 ingest: ${Math.min(first + roundSize, batches.length) * ctx.options.batchSize} / ${ctx.dataset.events} events each way`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }

  const { rows } = await ctx.admin.query<{ project_id: string; n: string }>(
    `SELECT project_id, count(*) AS n FROM events WHERE project_id IN ($1, $2) GROUP BY project_id`,
    [ctx.project.projectId, SCRATCH_PROJECT_ID],
  );
  const stored = Object.fromEntries(rows.map((r) => [r.project_id.trim(), Number(r.n)]));
  for (const [who, id] of [
    ['POST /events', ctx.project.projectId],
    ['COPY', SCRATCH_PROJECT_ID],
  ] as const) {
    if (stored[id] !== ctx.dataset.events) throw new Error(`B1: ${who} stored ${stored[id] ?? 0} events, expected ${ctx.dataset.events}`);
  }

  const events = ctx.dataset.events;
  const service = { seconds: serviceMs / 1000, eventsPerSecond: Math.round(events / (serviceMs / 1000)) };
  const baseline = {
    seconds: baselineMs / 1000,
    eventsPerSecond: Math.round(events / (baselineMs / 1000)),
    method: `${COPY_SQL}, one statement per batch of ${ctx.options.batchSize}, ${concurrency} connections`,
  };
  const r = ratio(service.eventsPerSecond, baseline.eventsPerSecond);
  return {
    events,
    batches: batches.length,
    batchSize: ctx.options.batchSize,
    concurrency,
    rounds,
    service,
    baseline,
    ratio: r,
    target: { minRatio: B1_TARGET_MIN_RATIO },
    met: r >= B1_TARGET_MIN_RATIO,
  };
}

/**
 * Removes the COPY baseline's rows and compacts the table, so B2–B4 read a table holding only the
 * service's events, as if nothing else had been there: DELETE, VACUUM FULL (rewrites the table and
 * its indexes), ANALYZE, CHECKPOINT.
 */
export async function removeScratchRows(ctx: BenchContext): Promise<void> {
  await ctx.admin.query('DELETE FROM events WHERE project_id = $1', [SCRATCH_PROJECT_ID]);
  await ctx.admin.query('DELETE FROM projects WHERE id = $1', [SCRATCH_PROJECT_ID]);
  await ctx.admin.query('VACUUM (FULL, ANALYZE) events');
  await ctx.admin.query('CHECKPOINT').catch(() => undefined);
}
