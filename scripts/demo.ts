/**
 * The demo (`npm run demo`, driven by scripts/demo.sh against a running service): creates a project,
 * pushes a seeded, reproducible e-commerce data set through the HTTP API, runs a small export, then
 * exports everything to a local S3-compatible server with a progress bar fed by the monitor
 * endpoint, reads the object back and verifies it event by event, and imports that object into a
 * new collection (bulk import from S3), checking that every event arrived once.
 *
 * Environment: API_URL (default http://127.0.0.1:3000), ADMIN_TOKEN, DEMO_EVENTS (default 100000),
 * DEMO_SEED (default 2015), DEMO_S3_PORT (default 4569; must be in the service's S3_ALLOWED_ENDPOINTS),
 * DEMO_KEEP=1 (`npm run demo -- --keep`): the demo's S3 server keeps running after the demo, with the
 * exported object in it, until Ctrl-C (SIGINT) or SIGTERM.
 */
import '../src/quiet-aws-sdk';
import { startS3Server } from '../test/support/s3-server';
import { ecommerceEvents } from './lib/ecommerce-events';

const API = (process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? '';
const COUNT = Number(process.env.DEMO_EVENTS ?? 100_000);
const SEED = Number(process.env.DEMO_SEED ?? 2015);
const S3_PORT = Number(process.env.DEMO_S3_PORT ?? 4569);
const KEEP = process.env.DEMO_KEEP === '1';
const WINDOW_END = new Date(process.env.DEMO_END ?? '2026-11-30T00:00:00Z');
const BATCH = 5000;
const CONCURRENCY = 4;

const TTY = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (s: string) => (TTY ? `\x1b[1m${s}\x1b[0m` : s);
let lastProgressAt = 0;
/** A progress line: redrawn in place on a terminal; in a file or a pipe, one line every 5 s (no `\r`). */
function progress(line: string): void {
  if (TTY) {
    process.stdout.write(`\r${line}`);
  } else if (Date.now() - lastProgressAt >= 5000) {
    lastProgressAt = Date.now();
    process.stdout.write(`${line}\n`);
  }
}
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function api<T>(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

function expectStatus(step: string, got: number, want: number, body: unknown): void {
  if (got !== want) {
    throw new Error(`${step}: expected HTTP ${want}, got ${got}: ${JSON.stringify(body)}`);
  }
}

async function main(): Promise<void> {
  console.log(bold(`\n1. Create a project (POST ${API}/projects)`));
  const project = await api<{ projectId: string; keys: Record<string, string> }>(
    'POST',
    '/projects',
    { 'X-Admin-Token': ADMIN_TOKEN },
    { name: `demo ${new Date().toISOString()}` },
  );
  expectStatus('create project', project.status, 201, project.body);
  const { projectId, keys } = project.body;
  console.log(`   project ${projectId}`);
  console.log(`   keys (shown only now; use them to try the API): ${JSON.stringify(keys)}`);
  const pushHeaders = { 'X-Project-Id': projectId, 'X-Api-Key': keys.push };
  const queryHeaders = { 'X-Project-Id': projectId, 'X-Api-Key': keys.query };

  console.log(bold(`\n2. Push ${COUNT.toLocaleString('en-US')} seeded purchase events over 90 days (POST /events, ${BATCH} per batch)`));
  const events = [...ecommerceEvents(COUNT, { seed: SEED, end: WINDOW_END, days: 90 })];
  const started = Date.now();
  let next = 0;
  let pushed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < events.length) {
        const batch = events.slice(next, (next += BATCH));
        const res = await api<{ purchases: Array<{ success: boolean; message?: string }> }>('POST', '/events', pushHeaders, {
          purchases: batch,
        });
        expectStatus('push batch', res.status, 200, res.body);
        const failed = res.body.purchases.find((r) => !r.success);
        if (failed) throw new Error(`an event was refused: ${failed.message}`);
        pushed += batch.length;
        progress(`   ${pushed.toLocaleString('en-US')} events stored`);
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${TTY ? '' : `   ${pushed.toLocaleString('en-US')} events stored`} in ${seconds.toFixed(1)} s (${Math.round(pushed / seconds).toLocaleString('en-US')} events/s)`,
  );

  console.log(bold('\n3. Small export: expensive bikes in the last 7 days (GET /events/purchases/export)'));
  const query = {
    filter: { 'product.category': 'Bikes', totalPrice: { gt: 1000 } },
    timeframe: { start: new Date(WINDOW_END.getTime() - 7 * 86_400_000).toISOString(), end: WINDOW_END.toISOString() },
  };
  console.log(`   query=${JSON.stringify(query)}`);
  const small = await api<{ results: Array<Record<string, unknown>> }>(
    'GET',
    `/events/purchases/export?query=${encodeURIComponent(JSON.stringify(query))}`,
    queryHeaders,
  );
  expectStatus('small export', small.status, 200, small.body);
  const expectedSmall = events.filter(
    (e) =>
      (e.product as { category: string }).category === 'Bikes' &&
      (e.totalPrice as number) > 1000 &&
      (e.timestamp as string) >= query.timeframe.start,
  ).length;
  console.log(`   ${small.body.results.length} events (expected ${expectedSmall}); the first one:`);
  console.log(`   ${JSON.stringify(small.body.results[0])}`);
  if (small.body.results.length !== expectedSmall) throw new Error('small export returned the wrong number of events');
  const tooBig = await api<{ errorMessage: string }>('GET', '/events/purchases/export', queryHeaders);
  console.log(`   without a filter: HTTP ${tooBig.status} ${JSON.stringify(tooBig.body)}`);

  console.log(bold(`\n4. Export all ${COUNT.toLocaleString('en-US')} events to S3 (a local S3-compatible server on 127.0.0.1:${S3_PORT})`));
  const s3 = await startS3Server({
    port: S3_PORT,
    buckets: ['demo-exports'],
    accessKeyId: 'AKIADEMO',
    secretAccessKey: `demo-${Math.random().toString(36).slice(2)}`,
  });
  try {
    const created = await api<{ filename: string }>('POST', '/events/purchases/export', queryHeaders, {
      query: { timeframe: { start: '2000-01-01T00:00:00Z' } },
      s3Path: `${s3.endpoint}/demo-exports/exports/`,
      s3AccessKeyId: s3.accessKeyId,
      s3SecretAccessKey: s3.secretAccessKey,
    });
    expectStatus('create S3 export', created.status, 201, created.body);
    const location = created.headers.get('location')!;
    console.log(`   201 Created, Location: ${location}`);
    const monitorPath = new URL(location).pathname;
    let status: {
      status: string;
      percentDone: number;
      transferredBytes: number;
      totalBytes: number;
      error: string | null;
      filename: string;
    };
    const exportStarted = Date.now();
    do {
      await new Promise((r) => setTimeout(r, 200));
      status = (await api<typeof status>('GET', monitorPath, queryHeaders)).body;
      const width = 40;
      const filled = Math.round((status.percentDone / 100) * width);
      progress(
        `   [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${status.percentDone.toFixed(1).padStart(5)}%  ` +
          `${mb(status.transferredBytes)} / ${mb(status.totalBytes)}  ${status.status.padEnd(8)}`,
      );
    } while (status.status === 'Pending' || status.status === 'Running');
    console.log(`\n   ${status.status} in ${((Date.now() - exportStarted) / 1000).toFixed(1)} s`);
    if (status.status !== 'Complete') throw new Error(`export failed: ${status.error}`);

    console.log(bold('\n5. Read the object back and verify it'));
    const object = await s3.getObject('demo-exports', `exports/${status.filename}`);
    const lines = object.toString('utf8').split('\n');
    if (lines.pop() !== '') throw new Error('the object does not end with a newline');
    const byId = new Map(events.map((e) => [e.id as string, e]));
    let previous = '';
    for (const [i, line] of lines.entries()) {
      const event = JSON.parse(line) as Record<string, unknown>;
      const original = byId.get(event.id as string);
      if (!original) throw new Error(`line ${i}: unknown or repeated id ${String(event.id)}`);
      if (JSON.stringify(sortKeys(event)) !== JSON.stringify(sortKeys(original)))
        throw new Error(`line ${i} differs from the pushed event`);
      if ((event.timestamp as string) < previous) throw new Error(`line ${i} is out of timestamp order`);
      previous = event.timestamp as string;
      byId.delete(event.id as string);
    }
    if (byId.size > 0) throw new Error(`${byId.size} pushed events are missing from the export`);
    if (object.length !== status.totalBytes) throw new Error(`object is ${object.length} bytes, monitor said ${status.totalBytes}`);
    console.log(`   s3://demo-exports/exports/${status.filename}: ${lines.length.toLocaleString('en-US')} lines, ${mb(object.length)}`);
    console.log('   every pushed event is there exactly once, identical, in timestamp order; size matches totalBytes');

    console.log(bold('\n6. Import the exported object into a new collection (bulk import from S3)'));
    const started = await api<unknown>('POST', '/event-import', pushHeaders, {
      collection: 'purchases_copy',
      s3Path: `${s3.endpoint}/demo-exports/exports/${status.filename}`,
      s3AccessKeyId: s3.accessKeyId,
      s3SecretAccessKey: s3.secretAccessKey,
    });
    expectStatus('create import', started.status, 201, started.body);
    const importPath = new URL(started.headers.get('location')!).pathname;
    console.log(`   201 Created, Location: ${started.headers.get('location')}`);
    let imported: {
      status: string;
      importedEvents: number;
      duplicateEvents: number;
      percentComplete: number;
      insertRate: string;
      error: string | null;
      eventErrors: unknown[];
    };
    do {
      await new Promise((r) => setTimeout(r, 200));
      imported = (await api<typeof imported>('GET', importPath, pushHeaders)).body;
      progress(
        `   ${imported.percentComplete.toFixed(1).padStart(5)}%  ${imported.importedEvents.toLocaleString('en-US')} events  ${imported.insertRate}  ${imported.status.padEnd(8)}`,
      );
    } while (imported.status === 'Pending' || imported.status === 'Running');
    console.log('');
    if (
      imported.status !== 'Complete' ||
      imported.importedEvents !== COUNT ||
      imported.duplicateEvents !== 0 ||
      imported.eventErrors.length > 0
    ) {
      throw new Error(`import ended ${JSON.stringify(imported)}`);
    }
    const copy = await api<{ results: Array<{ result: number }> | { result: number } }>(
      'GET',
      `/events/purchases_copy?query=${encodeURIComponent(JSON.stringify({ select: { n: 'count' } }))}`,
      queryHeaders,
    );
    console.log(
      `   ${imported.importedEvents.toLocaleString('en-US')} events imported, 0 duplicates, 0 errors; count query on purchases_copy: ${JSON.stringify(copy.body)}`,
    );
  } catch (error) {
    await s3.close();
    throw error;
  }
  console.log(bold('\nDemo complete.'));
  if (KEEP) {
    console.log(`The service is running at ${API} (Swagger UI: ${API}/docs).`);
    console.log(
      `The demo's S3 server is running at ${s3.endpoint}: bucket demo-exports (the export is under exports/), ` +
        `access key ${s3.accessKeyId}, secret key ${s3.secretAccessKey}, data in ${s3.directory}.`,
    );
    console.log('Ctrl-C stops both.');
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  await s3.close();
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

main().catch((error: unknown) => {
  console.error(`\n${TTY ? '\x1b[31mdemo failed:\x1b[0m' : 'demo failed:'} ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
