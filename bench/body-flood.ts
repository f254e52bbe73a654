/**
 * Unauthenticated bodies must cost nearly nothing: while `--clients` clients (half plain, half
 * brotli) keep sending 32 MB bodies to `POST /events` without a key, `/health` is polled and
 * every client's time to its answer (401) is recorded. Targets: `/health` p99 ≤ 100 ms and every
 * client answered within 1 s.
 *
 *   npm run build && node dist/bench/body-flood.js [--seconds 15] [--clients 4]
 *
 * Starts the service as production runs it (`ROLE=api`, its own process and database
 * `connect_bench_body`, dropped and recreated), on a free port; prints one JSON document.
 */
import 'dotenv/config';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { recreateDatabase } from '../scripts/lib/databases';
import { loadSection } from '../src/config/configuration';
import { freePort, startService } from './lib/processes';
import { percentile } from './lib/stats';

const MB = 1024 * 1024;

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

interface Answer {
  status: number | 'error';
  ms: number;
}

/** One POST with `body`; resolves with the status and the ms until the status line arrived. */
function post(port: number, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve) => {
    const start = performance.now();
    let answered = false;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/events',
        headers: { ...headers, 'Content-Length': String(body.length) },
        agent: false,
      },
      (res) => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - start });
        res.resume();
      },
    );
    req.setTimeout(30_000, () => req.destroy());
    // The server may close while the body is still being sent (that is the point): not an error once answered.
    req.on('error', () => {
      if (!answered) resolve({ status: 'error', ms: performance.now() - start });
    });
    req.end(body);
  });
}

function summary(values: number[]): { count: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    count: values.length,
    p50Ms: round(percentile(values, 50)),
    p99Ms: round(percentile(values, 99)),
    maxMs: round(Math.max(...values)),
  };
}

async function pollHealth(port: number, until: () => boolean): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  while (!until()) {
    const start = performance.now();
    const status = await new Promise<number>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/health', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
    });
    samples.push(status === 200 ? performance.now() - start : Infinity);
    await new Promise((r) => setTimeout(r, 10));
  }
  agent.destroy();
  return samples;
}

async function main(): Promise<void> {
  const seconds = flag('seconds', 15);
  const clients = flag('clients', 4);
  const port = await freePort();
  const databaseUrl = await recreateDatabase(loadSection('database').url, 'connect_bench_body');
  const logDir = path.join(os.tmpdir(), `body-flood-${process.pid}`);
  const service = await startService(
    'api',
    {
      port,
      databaseUrl,
      redisUrl: loadSection('redis').url,
      queuePrefix: `bench-body-${process.pid}`,
      secretsKey: 'bench-body-flood-secrets-key-0123456789abcdef',
      adminToken: 'bench-body-flood-admin-token',
      s3Endpoint: '',
    },
    logDir,
    null,
  );
  try {
    const plain = Buffer.alloc(32 * MB, '{},');
    const brotli = brotliCompressSync(Buffer.from(`[${'{},'.repeat((32 * MB) / 3 - 1)}{}]`), {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
    });
    const idle = await (async () => {
      const end = performance.now() + 3000;
      return pollHealth(port, () => performance.now() > end);
    })();

    const end = performance.now() + seconds * 1000;
    const done = () => performance.now() > end;
    const answers: Record<'plain' | 'brotli', Answer[]> = { plain: [], brotli: [] };
    const flood = Array.from({ length: clients }, async (_, i) => {
      const kind = i % 2 === 0 ? 'plain' : 'brotli';
      while (!done()) {
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (kind === 'brotli') headers['Content-Encoding'] = 'br';
        answers[kind].push(await post(port, kind === 'plain' ? plain : brotli, headers));
      }
    });
    const [busy] = await Promise.all([pollHealth(port, done), ...flood]);

    const statuses = (list: Answer[]) =>
      Object.fromEntries([...new Set(list.map((a) => a.status))].map((s) => [s, list.filter((a) => a.status === s).length]));
    const result = {
      command: `node dist/bench/body-flood.js --seconds ${seconds} --clients ${clients}`,
      brotliBodyBytes: brotli.length,
      healthIdle: summary(idle),
      healthDuringFlood: summary(busy),
      plain32MbWithoutKey: { ...summary(answers.plain.map((a) => a.ms)), statuses: statuses(answers.plain) },
      brotliBombWithoutKey: { ...summary(answers.brotli.map((a) => a.ms)), statuses: statuses(answers.brotli) },
    };
    const met =
      result.healthDuringFlood.p99Ms <= 100 && result.plain32MbWithoutKey.maxMs <= 1000 && result.brotliBombWithoutKey.maxMs <= 1000;
    console.log(JSON.stringify({ ...result, targetsMet: met }, null, 2));
  } finally {
    await service.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
