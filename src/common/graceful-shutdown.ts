import { INestApplicationContext, Logger } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { JobDrain } from './bull-jobs';

/** The signals that stop the process gracefully (supervisors send SIGTERM; Ctrl-C is SIGINT). */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * A signal repeated within this long of the first counts as the same request, ms: under `npm start`,
 * Ctrl-C reaches the service twice (from the terminal, and forwarded by npm).
 */
const REPEAT_WINDOW_MS = 500;

/** Marks a response whose connection a shutdown closes when it ends (HttpDrain). */
const CLOSES_FOR_SHUTDOWN = Symbol('closesForShutdown');

/**
 * Whether a shutdown asked for `response`'s connection to close when it ends: `Connection: close`
 * must then stay, also once its body has been read (readJsonBody lifts closeUnreadBodies' close).
 */
export function closesForShutdown(response: ServerResponse): boolean {
  return (response as ServerResponse & { [CLOSES_FOR_SHUTDOWN]?: true })[CLOSES_FOR_SHUTDOWN] === true;
}

/**
 * An HTTP server's requests in flight, so that a shutdown lets them finish: `stop` stops accepting
 * connections and closes idle keep-alive ones; each response still running then closes its connection
 * when it ends (`Connection: close` when its headers are not sent yet).
 */
export class HttpDrain {
  private readonly responses = new Set<ServerResponse>();
  private stopping = false;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly server: Server) {
    server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
      this.responses.add(response);
      if (this.stopping) this.closeWhenDone(response);
      response.once('close', () => {
        this.responses.delete(response);
        if (!this.stopping) return;
        // Once the response is over its connection is idle (a tick later): close it rather than keep it alive.
        setImmediate(() => server.closeIdleConnections());
        if (this.responses.size === 0) this.waiters.splice(0).forEach((wake) => wake());
      });
    });
  }

  /** Requests being answered now. */
  get inFlight(): number {
    return this.responses.size;
  }

  /** Stops accepting connections. @returns a promise resolved once every connection is closed. */
  stop(): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const response of this.responses) this.closeWhenDone(response);
    return closed;
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    return this.responses.size === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Closes every connection still open, requests in flight or not. @returns how many requests were cut. */
  destroy(): number {
    const cut = this.responses.size;
    this.server.closeAllConnections();
    return cut;
  }

  private closeWhenDone(response: ServerResponse): void {
    if (response.headersSent) return;
    response.setHeader('Connection', 'close');
    (response as ServerResponse & { [CLOSES_FOR_SHUTDOWN]?: true })[CLOSES_FOR_SHUTDOWN] = true;
  }
}

/** What a graceful shutdown stops (docs/shutdown.md). */
export interface ShutdownTargets {
  app: INestApplicationContext;
  /** The HTTP server's drain; null for a worker-only process. */
  http: HttpDrain | null;
  /** The job queues this process works on (none for ROLE=api). */
  workers: JobDrain[];
  /** SHUTDOWN_GRACE_MS. */
  graceMs: number;
}

/**
 * Stops the process gracefully on SIGTERM or SIGINT (docs/shutdown.md), in this order, one log line
 * per step:
 * 1. the HTTP server stops accepting connections (idle keep-alive ones are closed) and every worker
 *    stops taking jobs;
 * 2. requests in flight finish; running exports and imports go on for the first half of the grace,
 *    then those still running are released at their next checkpoint (JobDrain: their jobs go back to
 *    the queue, for another worker, neither failed nor counted);
 * 3. queues, pools and connections are closed (`app.close()`), and the process exits 0.
 * When SHUTDOWN_GRACE_MS runs out first, the connections still open are closed and the process
 * exits 1 at once (a job still held is then taken over once its lock expires, as after a crash);
 * a second signal (REPEAT_WINDOW_MS after the first or later) exits 1 at once too.
 */
export function stopGracefullyOnSignals(targets: ShutdownTargets): void {
  const logger = new Logger('Shutdown');
  let startedAt: number | null = null;
  const exit = (code: number): never => process.exit(code);
  const onSignal = (signal: NodeJS.Signals) => {
    if (startedAt === null) {
      startedAt = Date.now();
      const deadline = setTimeout(() => {
        const cut = targets.http?.destroy() ?? 0;
        const held = targets.workers.flatMap((w) => w.jobIds().map((id) => `${w.kind} job ${id}`));
        logger.warn({
          msg:
            `grace of ${targets.graceMs} ms ran out: closed ${cut} request(s) in flight` +
            `${held.length > 0 ? `; still held: ${held.join(', ')} (taken over once its lock expires)` : ''}; exited (1)`,
          event: 'shutdown.exited',
          exitCode: 1,
          reason: 'grace ran out',
        });
        exit(1);
      }, targets.graceMs);
      deadline.unref();
      shutdown(targets, signal, logger, startedAt).then(
        () => exit(0),
        (error: unknown) => {
          const msg = `shutdown failed: ${error instanceof Error ? error.message : String(error)}; exited (1)`;
          logger.error({ msg, event: 'shutdown.exited', exitCode: 1, reason: 'failed' });
          exit(1);
        },
      );
      return;
    }
    if (Date.now() - startedAt < REPEAT_WINDOW_MS) return;
    const cut = targets.http?.destroy() ?? 0;
    const msg = `second signal (${signal}): exiting at once; closed ${cut} request(s) in flight; exited (1)`;
    logger.warn({ msg, event: 'shutdown.exited', exitCode: 1, reason: 'second signal' });
    exit(1);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
}

async function shutdown(targets: ShutdownTargets, signal: NodeJS.Signals, logger: Logger, startedAt: number): Promise<void> {
  const { http, workers, graceMs } = targets;
  logger.log({
    msg: `stopping (${signal}): no new connections or jobs; grace ${graceMs} ms (a second signal exits at once)`,
    event: 'shutdown.started',
    signal,
    graceMs,
  });
  const requests = (async () => {
    if (!http) return;
    const closed = http.stop();
    logger.log(`stopped accepting connections; in-flight requests: ${http.inFlight}`);
    await http.idle();
    await closed;
    logger.log('in-flight requests finished; HTTP server closed');
  })();
  const jobs = (async () => {
    if (workers.length === 0) return;
    await Promise.all(workers.map((w) => w.stopTaking().catch((e: unknown) => logger.warn(`${w.kind} queue: ${String(e)}`))));
    const running = () => workers.flatMap((w) => w.jobIds().map((id) => `${w.kind} job ${id}`));
    logger.log(`stopped taking jobs; running: ${running().join(', ') || 'none'}`);
    // The first half of the grace to finish; the second for the parts or batch in flight once released.
    const releaseTimer = setTimeout(() => {
      if (running().length > 0) logger.log(`releasing at their next checkpoint: ${running().join(', ')}`);
      for (const w of workers) w.release();
    }, graceMs / 2);
    await Promise.all(workers.map((w) => w.idle()));
    clearTimeout(releaseTimer);
    logger.log('no job running');
  })();
  await Promise.all([requests, jobs]);
  // Only now: in role `all`, requests still in flight above could still queue an export or an import.
  for (const w of workers) await w.close().catch((e: unknown) => logger.warn(`${w.kind} queue: ${String(e)}`));
  await targets.app.close();
  const durationMs = Date.now() - startedAt;
  logger.log({
    msg: `closed queues, pools and connections; exited (0) after ${durationMs} ms`,
    event: 'shutdown.exited',
    exitCode: 0,
    durationMs,
  });
}
