/**
 * `EXPLAIN (ANALYZE, BUFFERS)` of the SQL the service runs in each benchmark next to its baseline's,
 * on the data a bench run left in its database (the harness keeps it until the next run):
 *
 *   node dist/bench/explain.js [--database connect_bench] [--only ingest,b2,b3,b4]
 *
 * The service's statements are taken from the service's own compiled code (dist/src), called with a
 * stand-in database that records the statement instead of running it, so what is explained is what
 * the service sends. Those modules are loaded at run time, not imported, so a change in src/ cannot
 * break the build of bench/; it can only make this tool report that it no longer fits.
 * Write operations (the ingest INSERT and COPY) run inside a transaction that is rolled back.
 */
import 'dotenv/config';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ecommerceEvents } from '../scripts/lib/ecommerce-events';
import { loadSection } from '../src/config/configuration';
import { queriesForExplain } from './b2-query';
import { smallExportSelection } from './b3-small-export';
import { WINDOW_DAYS, WINDOW_END } from './lib/dataset';
import { eventLineSql } from './lib/event-line';
import { distPath } from './lib/paths';

interface Statement {
  text: string;
  values: unknown[];
}

/** A stand-in for TypeORM's DataSource that records statements instead of running them. */
function recordingDataSource(recorded: Statement[], answer: unknown = []): unknown {
  return {
    query: (text: string, values: unknown[] = []) => {
      recorded.push({ text, values });
      return Promise.resolve(answer);
    },
    getRepository: () => ({}),
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the built dist/ code, whose path is known only at run time
const load = (relative: string): Record<string, unknown> => require(distPath(relative)) as Record<string, unknown>;

async function explain(client: Client, title: string, statement: Statement): Promise<void> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, statement.values);
  console.log(`\n--- ${title}\n${statement.text.replace(/\s+/g, ' ').slice(0, 600)}\n`);
  console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
}

async function ingest(client: Client, projectId: string): Promise<void> {
  const { EventWriter } = load('src/events/event-writer.js') as {
    EventWriter: new (ds: unknown) => { insert(p: string, rows: unknown[]): Promise<void> };
  };
  const events = [...ecommerceEvents(5000, { seed: 4242, end: WINDOW_END, days: WINDOW_DAYS })];
  const rows = events.map(({ id, timestamp, ...properties }) => ({
    collection: 'purchases',
    event: { eventId: id, timestamp: new Date(String(timestamp)), properties },
  }));
  const recorded: Statement[] = [];
  await new EventWriter(recordingDataSource(recorded)).insert(projectId, rows);
  await client.query('BEGIN');
  try {
    await explain(client, 'B1 service: the INSERT of one batch of 5,000 events (rolled back)', recorded[0]);
  } finally {
    await client.query('ROLLBACK');
  }
  const copyText = rows
    .map(
      (r) =>
        `${projectId}\t${r.collection}\t${JSON.stringify(r.event.eventId)}\t${r.event.timestamp.toISOString()}\t${JSON.stringify(r.event.properties).replace(/\\/g, '\\\\')}\n`,
    )
    .join('');
  await client.query('BEGIN');
  try {
    const t = performance.now();
    await pipeline(
      Readable.from([Buffer.from(copyText)]),
      client.query(copyFrom('COPY events (project_id, collection, event_id, "timestamp", properties) FROM STDIN')),
    );
    console.log(
      `\n--- B1 baseline: COPY of the same 5,000 rows (rolled back): ${(performance.now() - t).toFixed(1)} ms (COPY cannot be EXPLAINed)`,
    );
  } finally {
    await client.query('ROLLBACK');
  }
}

async function queries(client: Client, projectId: string): Promise<void> {
  const { QueryService } = load('src/query/query.service.js') as {
    QueryService: new (repo: unknown) => { query(p: string, c: string, q: string): Promise<unknown> };
  };
  for (const q of queriesForExplain()) {
    const recorded: Statement[] = [];
    const service = new QueryService({ aggregate: (s: Statement) => (recorded.push(s), Promise.resolve([])) });
    await service.query(projectId, q.collection, JSON.stringify(q.doc));
    await explain(client, `B2 ${q.id}: service`, recorded[0]);
    await explain(client, `B2 ${q.id}: hand-written`, { text: q.sql, values: [projectId, q.collection, ...q.values] });
  }
}

type ExportsRepositoryLike = {
  countStatement(scope: unknown, limit: number): Statement;
  linesStatement(scope: unknown): Statement;
  sizeStatement(scope: unknown): Statement;
};

function exportsRepository(): ExportsRepositoryLike {
  const { ExportsRepository } = load('src/exports/exports.repository.js') as {
    ExportsRepository: new (ds: unknown) => ExportsRepositoryLike;
  };
  return new ExportsRepository(recordingDataSource([]));
}

function selectionOf(query: unknown): unknown {
  const { parseExportQuery } = load('src/query/event-selection.js') as { parseExportQuery: (doc: unknown, now: Date) => unknown };
  return parseExportQuery(query, new Date());
}

async function smallExport(client: Client, projectId: string): Promise<void> {
  const { collection, query, sql, values } = await smallExportSelection(client, projectId);
  const scope = { projectId, collection, selection: selectionOf(query), maxEventRowId: null };
  const repository = exportsRepository();
  await explain(client, 'B3 service: count (stops at 10,001)', repository.countStatement(scope, 10_000));
  await explain(client, 'B3 service: lines (streamed through a cursor)', repository.linesStatement(scope));
  await explain(client, 'B3 hand-written', { text: sql, values });
}

async function s3Export(client: Client, projectId: string): Promise<void> {
  const { rows } = await client.query<{ max: string }>('SELECT max(id) AS max FROM events');
  const scope = { projectId, collection: 'purchases', selection: selectionOf({}), maxEventRowId: Number(rows[0].max) };
  const repository = exportsRepository();
  await explain(client, 'B4 service: totalBytes (a first pass over every line)', repository.sizeStatement(scope));
  await explain(client, 'B4 service: lines (streamed through a cursor)', repository.linesStatement(scope));
  await explain(client, 'B4 baseline: the SELECT inside COPY (...) TO STDOUT', {
    text: `SELECT ${eventLineSql()} FROM events e WHERE e.project_id = $1 AND e.collection = $2 ORDER BY e."timestamp", e.id`,
    values: [projectId, 'purchases'],
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const database = args.includes('--database') ? args[args.indexOf('--database') + 1] : 'connect_bench';
  const only = new Set((args.includes('--only') ? args[args.indexOf('--only') + 1] : 'ingest,b2,b3,b4').split(','));
  const url = new URL(loadSection('database').url);
  url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM projects WHERE name = 'bench' ORDER BY created_at DESC LIMIT 1`);
    if (rows.length === 0) throw new Error(`no bench project in ${database}: run npm run bench first`);
    const projectId = rows[0].id;
    const { rows: count } = await client.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE project_id = $1', [projectId]);
    console.log(`database ${database}, project ${projectId}, ${Number(count[0].n).toLocaleString('en-US')} events`);
    if (only.has('ingest')) await ingest(client, projectId);
    if (only.has('b2')) await queries(client, projectId);
    if (only.has('b3')) await smallExport(client, projectId);
    if (only.has('b4')) await s3Export(client, projectId);
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
