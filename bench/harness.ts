/**
 * The benchmark harness (bench/README.md): builds the seeded data set, starts a service of its own (API and
 * export worker as two processes, a database and a queue prefix of their own) and an S3 server, then
 * measures B1–B5, each side by side with the physical limit of this machine, and returns every figure.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadSection } from '../src/config/configuration';
import { pushAll, removeScratchRows, runIngest } from './b1-ingest';
import { runQueries } from './b2-query';
import { runSmallExport } from './b3-small-export';
import { runS3Export } from './b4-s3-export';
import { runS3Import } from './b5-s3-import';
import { BenchContext, BenchProject, connect } from './lib/context';
import { loadDataset, WINDOW_END, WINDOW_START } from './lib/dataset';
import { eventLineSql } from './lib/event-line';
import { HttpClient } from './lib/http';
import { BenchOptions } from './lib/options';
import { repoRoot } from './lib/paths';
import { Child, freePort, RssSampler, startS3Process, startService } from './lib/processes';
import { BenchResults } from './lib/report';
import { recreateDatabase } from '../scripts/lib/databases';

const S3_BUCKET = 'bench-exports';

function log(message: string): void {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The server's version, e.g. "15.20 (Debian 15.20-0+deb12u1)". */
async function postgresVersion(admin: Client): Promise<string> {
  const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
  return rows[0].server_version;
}

/** `redis_version` from `INFO server`, over a plain socket (RESP inline command). */
function redisVersion(redisUrl: string): Promise<string> {
  const url = new URL(redisUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port || 6379), url.hostname);
    let data = '';
    const finish = (value: string): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(3000, () => finish('unknown'));
    socket.on('error', () => finish('unknown'));
    socket.on('connect', () => {
      if (url.password)
        socket.write(`AUTH ${url.username ? `${decodeURIComponent(url.username)} ` : ''}${decodeURIComponent(url.password)}\r\n`);
      socket.write('INFO server\r\n');
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      const match = /redis_version:([^\r\n]+)/.exec(data);
      if (match) finish(match[1]);
    });
  });
}

/** The checked-out commit and whether the work tree has changes (read-only git commands). */
function gitState(): BenchResults['git'] {
  try {
    const run = (...args: string[]): string =>
      execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: run('rev-parse', '--short', 'HEAD'), dirty: run('status', '--porcelain').length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg();
  // At the start: the service was just built from this state of the work tree.
  const git = gitState();
  const runDir = path.join(options.workDir, 'runs', startedAt.toISOString().replace(/[:.]/g, '-'));
  log(options.command);
  log(`logs${options.cpuProf ? ' and CPU profiles' : ''}: ${runDir}`);

  let t = performance.now();
  const dataset = await loadDataset(options.workDir, options.events, options.seed, options.batchSize);
  log(
    `data set: ${dataset.events.toLocaleString('en-US')} events, ${Math.round(dataset.jsonBytes / dataset.events)} bytes each, ` +
      `${JSON.stringify(dataset.collections)} (${dataset.generated ? 'generated' : 'cached'} in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );

  // Loaded now from dist/, not half-way through the run (someone may rebuild dist/ meanwhile).
  eventLineSql();

  const serverUrl = loadSection('database').url;
  const redisUrl = loadSection('redis').url;
  const databaseUrl = await recreateDatabase(serverUrl, options.database);
  log(`database ${options.database} recreated`);

  const children: Child[] = [];
  let http: HttpClient | undefined;
  let admin: Client | undefined;
  let workerRss: RssSampler | undefined;
  try {
    const s3 = await startS3Process(
      runDir,
      S3_BUCKET,
      `AKIABENCH${randomBytes(4).toString('hex').toUpperCase()}`,
      randomBytes(20).toString('hex'),
    );
    children.push(s3);
    const port = await freePort();
    const adminToken = randomBytes(24).toString('hex');
    const env = {
      port,
      databaseUrl,
      redisUrl,
      queuePrefix: `bench-${process.pid}-${startedAt.getTime()}`,
      secretsKey: randomBytes(32).toString('hex'),
      adminToken,
      s3Endpoint: s3.endpoint,
    };
    const cpuProfDir = options.cpuProf ? path.join(runDir, 'profiles') : null;
    // The API first: it applies the migrations.
    const api = await startService('api', env, runDir, cpuProfDir, options.serviceNodeFlags);
    children.push(api);
    let worker = await startService('worker', env, runDir, cpuProfDir, options.serviceNodeFlags);
    children.push(worker);
    let workers = 1;
    log(`service up: API pid ${api.pid} on port ${port}, export worker pid ${worker.pid}; S3 server ${s3.endpoint}`);

    http = new HttpClient(`http://127.0.0.1:${port}`, options.concurrency + 4);
    const project = (await http.json<BenchProject>('POST', '/projects', { 'X-Admin-Token': adminToken }, 201, { name: 'bench' })).body;
    admin = await connect(databaseUrl);
    workerRss = new RssSampler(worker.pid);
    const ctx: BenchContext = {
      options,
      dataset,
      http,
      api,
      worker,
      workerRss,
      s3,
      project,
      databaseUrl,
      admin,
      log,
      async replaceWorker(extraEnv, signal) {
        ctx.workerRss.stop();
        await (signal === 'SIGKILL' ? ctx.worker.kill() : ctx.worker.stop());
        worker = await startService('worker', env, runDir, cpuProfDir, options.serviceNodeFlags, {
          env: extraEnv,
          logName: `service-worker-${++workers}`,
        });
        children.push(worker);
        workerRss = new RssSampler(worker.pid);
        ctx.worker = worker;
        ctx.workerRss = workerRss;
        return worker;
      },
    };

    let b1: BenchResults['b1'] = null;
    t = performance.now();
    if (options.only.has('b1')) {
      b1 = await runIngest(ctx);
      log(`B1 ingest: ${b1.service.eventsPerSecond} events/s vs COPY ${b1.baseline.eventsPerSecond} events/s (×${b1.ratio})`);
      await removeScratchRows(ctx);
    } else {
      await pushAll(ctx);
    }
    // VACUUM FULL leaves the visibility map unset; a plain VACUUM sets it, as autovacuum would on a live table.
    await admin.query('VACUUM (ANALYZE) events');
    await admin.query('CHECKPOINT').catch(() => undefined);
    log(`data in place (${((performance.now() - t) / 1000).toFixed(1)} s with ingest and housekeeping)`);

    const b2 = options.only.has('b2') ? await runQueries(ctx) : null;
    const b3 = options.only.has('b3') ? await runSmallExport(ctx) : null;
    const b4 = options.only.has('b4') ? await runS3Export(ctx) : null;
    const b5 = options.only.has('b5') ? await runS3Import(ctx) : null;

    const finishedAt = new Date();
    const cpus = os.cpus();
    return {
      schemaVersion: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
      command: options.command,
      git,
      machine: {
        cores: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        memoryBytes: os.totalmem(),
        kernel: os.release(),
        loadAverageAtStart: loadAverageAtStart.map((l) => Math.round(l * 100) / 100),
        loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
      },
      versions: { node: process.versions.node, postgres: await postgresVersion(admin), redis: await redisVersion(redisUrl) },
      config: {
        events: options.events,
        seed: options.seed,
        batchSize: options.batchSize,
        concurrency: options.concurrency,
        runs: options.runs,
        warmup: options.warmup,
        benchmarks: [...options.only],
        serviceNodeFlags: options.serviceNodeFlags,
      },
      dataset: {
        events: dataset.events,
        collections: dataset.collections,
        jsonBytes: dataset.jsonBytes,
        averageEventBytes: Math.round(dataset.jsonBytes / dataset.events),
        windowStart: WINDOW_START.toISOString(),
        windowEnd: WINDOW_END.toISOString(),
      },
      b1,
      b2,
      b3,
      b4,
      b5,
    };
  } finally {
    workerRss?.stop();
    http?.close();
    await admin?.end().catch(() => undefined);
    // Reverse order: worker and API before the S3 server they might still talk to.
    for (const child of children.reverse()) await child.stop();
  }
}
