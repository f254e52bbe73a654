import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { distPath } from './paths';

/** A child process of the harness: the service (API or export worker) or the S3 server. */
export interface Child {
  name: string;
  pid: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (a crash: no shutdown hooks, no profile written); resolves when the process has exited. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Whatever happens to the harness, its children do not outlive it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

interface SpawnOptions {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Extra node flags (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Resolves the start when a line of the child's output matches. */
  readyLine?: RegExp;
  /** Or when this probe resolves true (polled every 200 ms). */
  readyProbe?: () => Promise<boolean>;
  /** A line of JSON the child prints when ready, handed back (the S3 server's endpoint). */
  readyJson?: boolean;
  timeoutMs?: number;
}

/**
 * Starts `node <script>` with the harness's exit-on-signal preload (so `--cpu-prof` profiles are
 * written on SIGTERM), its output appended to `logFile`, and waits until it is ready.
 * @throws Error quoting the end of the log when the child exits or is not ready in time.
 */
async function startChild(opts: SpawnOptions): Promise<{ child: Child; json?: unknown }> {
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), '-r', distPath('bench/lib/exit-on-signal.js'), opts.script], {
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  const exited = once(proc, 'exit').then(() => running.delete(proc));
  let buffer = '';
  let onLine: ((line: string) => void) | undefined;
  const feed = (chunk: Buffer): void => {
    log.write(chunk);
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      onLine?.(line);
    }
  };
  proc.stdout.on('data', feed);
  proc.stderr.on('data', feed);

  let stopping: Promise<void> | undefined;
  const child: Child = {
    name: opts.name,
    pid: proc.pid!,
    logFile: opts.logFile,
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        log.end();
      })();
      return stopping;
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return child.stop();
    },
  };

  const tail = (): string => {
    try {
      return readFileSync(opts.logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  };
  try {
    const json = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${opts.name} was not ready within ${(opts.timeoutMs ?? 90_000) / 1000} s`)),
        opts.timeoutMs ?? 90_000,
      );
      const done = (value?: unknown): void => {
        clearTimeout(timer);
        clearInterval(probe);
        onLine = undefined;
        resolve(value);
      };
      void exited.then(() => {
        clearTimeout(timer);
        clearInterval(probe);
        reject(new Error(`${opts.name} exited with code ${proc.exitCode ?? proc.signalCode}`));
      });
      onLine = (line) => {
        if (opts.readyJson && line.startsWith('{')) done(JSON.parse(line));
        else if (opts.readyLine?.test(line)) done();
      };
      let probing = false;
      const probe = setInterval(() => {
        if (!opts.readyProbe || probing) return;
        probing = true;
        opts
          .readyProbe()
          .then((ok) => ok && done())
          .catch(() => undefined)
          .finally(() => (probing = false));
      }, 200);
    });
    return { child, json };
  } catch (error) {
    await child.stop(2000);
    throw new Error(`${(error as Error).message}; the end of ${opts.logFile}:\n${tail()}`, { cause: error });
  }
}

/** The service's environment for one role; everything the bench needs is set explicitly (real env wins over .env). */
export interface ServiceEnv {
  port: number;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  secretsKey: string;
  adminToken: string;
  s3Endpoint: string;
}

/**
 * Starts `node dist/src/main.js` in one role: `api` (HTTP only; ready when /health answers 200) or
 * `worker` (the export worker only; ready when it logs "export worker started"). Start the API first:
 * it applies the migrations.
 */
export async function startService(
  role: 'api' | 'worker',
  env: ServiceEnv,
  logDir: string,
  cpuProfDir: string | null,
  extraNodeFlags: string[] = [],
  extra: { env?: Record<string, string>; logName?: string } = {},
): Promise<Child> {
  const nodeFlags: string[] = [...extraNodeFlags];
  if (cpuProfDir) {
    const dir = path.join(cpuProfDir, role);
    mkdirSync(dir, { recursive: true });
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  const { child } = await startChild({
    name: `service (${role})`,
    script: distPath('src/main.js'),
    nodeFlags,
    logFile: path.join(logDir, `${extra.logName ?? `service-${role}`}.log`),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      ROLE: role,
      PORT: String(env.port),
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      QUEUE_PREFIX: env.queuePrefix,
      SECRETS_KEY: env.secretsKey,
      ADMIN_TOKEN: env.adminToken,
      S3_ALLOWED_ENDPOINTS: env.s3Endpoint,
      PUBLIC_BASE_URL: '',
      ...extra.env,
    },
    readyLine: role === 'worker' ? /export worker started/ : undefined,
    readyProbe:
      role === 'api'
        ? async () => {
            const res = await fetch(`http://127.0.0.1:${env.port}/health`, { signal: AbortSignal.timeout(2000) });
            await res.arrayBuffer();
            return res.status === 200;
          }
        : undefined,
  });
  return child;
}

/** The S3 server (s3rver behind the SigV4-verifying proxy of test/support/s3-server.ts) in a process of its own. */
export interface S3Process extends Child {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export async function startS3Process(logDir: string, bucket: string, accessKeyId: string, secretAccessKey: string): Promise<S3Process> {
  const { child, json } = await startChild({
    name: 'S3 server',
    script: distPath('bench/lib/s3-server-main.js'),
    logFile: path.join(logDir, 's3-server.log'),
    env: { ...process.env, BENCH_S3_BUCKET: bucket, BENCH_S3_ACCESS_KEY_ID: accessKeyId, BENCH_S3_SECRET_ACCESS_KEY: secretAccessKey },
    readyJson: true,
  });
  return { ...child, endpoint: (json as { endpoint: string }).endpoint, bucket, accessKeyId, secretAccessKey };
}

/** Resident set size of a process, bytes, from /proc/<pid>/status: current (VmRSS) and peak since reset (VmHWM). */
export function readRss(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Samples a process's RSS every `intervalMs` (default 50 ms). `phase()` starts a new measurement
 * window (and resets the kernel's peak, VmHWM, where allowed), `peak()` reads the window's peak:
 * the larger of the highest sample and VmHWM, so a spike between two samples is not missed, and a
 * timeline of the window (one point per `timelineMs`), to tell growth from a plateau.
 */
export class RssSampler {
  private timer: NodeJS.Timeout;
  private max = 0;
  private samples = 0;
  private hwmReset = false;
  private phaseStart = performance.now();
  private timeline: Array<[number, number]> = [];
  private nextPointAt = 0;

  constructor(
    private readonly pid: number,
    intervalMs = 50,
    private readonly timelineMs = 500,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const now = readRss(this.pid);
    if (!now) return;
    this.max = Math.max(this.max, now.rss);
    this.samples++;
    const elapsed = performance.now() - this.phaseStart;
    if (elapsed >= this.nextPointAt) {
      // [seconds since the window began, RSS in MiB], rounded for a compact JSON.
      this.timeline.push([Math.round(elapsed / 100) / 10, Math.round((now.rss / 1024 / 1024) * 10) / 10]);
      this.nextPointAt = elapsed + this.timelineMs;
    }
  }

  /** Starts a new window: forgets the peak and the timeline so far. */
  phase(): void {
    try {
      // "5" resets the peak RSS (VmHWM) to the current RSS (Linux 4.0+, proc(5)).
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    this.max = 0;
    this.samples = 0;
    this.phaseStart = performance.now();
    this.timeline = [];
    this.nextPointAt = 0;
    this.sample();
  }

  /** The window's peak RSS (bytes), how many samples it rests on, whether VmHWM was used, and the timeline so far (a copy). */
  peak(): { peakRssBytes: number; samples: number; vmHwmUsed: boolean; timeline: Array<[number, number]> } {
    this.sample();
    const hwm = this.hwmReset ? (readRss(this.pid)?.hwm ?? 0) : 0;
    return { peakRssBytes: Math.max(this.max, hwm), samples: this.samples, vmHwmUsed: this.hwmReset, timeline: [...this.timeline] };
  }

  current(): number {
    return readRss(this.pid)?.rss ?? NaN;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
