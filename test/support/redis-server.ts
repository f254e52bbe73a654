import { ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './ports';

/**
 * A redis-server of the test's own on a free loopback port (never the machine's shared Redis), so
 * a test can pause it, kill it and start it again on the same port. No persistence: a restart is empty.
 */
export interface TestRedis {
  port: number;
  url: string;
  /** SIGSTOP: Redis stops answering while its sockets stay open. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** SIGKILLs the server and waits until the port no longer answers; safe to call twice. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty); a no-op while it runs. */
  start(): Promise<void>;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`redis-server: ${what} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const redis: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      if (child && child.exitCode === null) return;
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      await until(() => answersPing(port), 'did not answer PING');
    },
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    kill: async () => {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGKILL');
      await exited;
      await until(async () => !(await answersPing(port)), 'still answers after SIGKILL');
    },
  };
  await redis.start();
  return redis;
}
