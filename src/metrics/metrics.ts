import type { Pool } from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Which parts of the service run in this process, so that /metrics shows only the metrics it can move. */
export interface MetricsScope {
  /** The HTTP API runs here (roles `all`, `api`): request, push and query metrics. */
  http: boolean;
  /** The export and import worker runs here (roles `all`, `worker`): their outcomes, durations and bytes. */
  worker: boolean;
}

/** How an export or import ended, as the worker that ended it saw it. */
export type JobOutcome = 'complete' | 'failed' | 'cancelled';

/** A pushed event's outcome: stored, its id already stored (de-duplicated), or refused (invalid). */
export type PushOutcome = 'accepted' | 'duplicate' | 'rejected';

/** Seconds; from a fast API answer to a slow streamed small export. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds; from an empty export (well under a second) to 1,000,000 events over a slow link (hours). */
const JOB_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400];

/**
 * The Prometheus metrics of one process (docs/monitoring.md lists each). Every metric is in this
 * service's own Registry, not prom-client's global one, so several apps built in one process (the
 * tests) each count their own. Metrics of parts that do not run here (pushes in a worker, exports
 * in an API-only process) are created but not registered, so recording them is harmless and
 * /metrics does not show them.
 *
 * Gauges read on scrape: PostgreSQL pools (each pool's owner registers it with `addPool`) and
 * Bull queues (QueueMetrics).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly eventsPushed: Counter<'outcome'>;
  readonly queries: Counter<'kind'>;
  readonly exportsFinished: Counter<'status'>;
  readonly exportDuration: Histogram<'status'>;
  readonly exportBytes: Counter;
  readonly importsFinished: Counter<'status'>;
  readonly importDuration: Histogram<'status'>;
  readonly importBytes: Counter;
  /** PostgreSQL pools of this process, by name (`main`: TypeORM's; `export_stream`: small exports'). */
  private readonly pools = new Map<string, Pool>();

  constructor(readonly scope: MetricsScope) {
    const http = scope.http ? [this.registry] : [];
    const worker = scope.worker ? [this.registry] : [];
    collectDefaultMetrics({ register: this.registry });
    this.httpRequestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to the end of its answer, by method, route pattern and status (seconds).',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers: http,
    });
    this.eventsPushed = new Counter({
      name: 'events_pushed_total',
      help: 'Events received by the push endpoints, by outcome: accepted (stored), duplicate (id already stored), rejected (invalid).',
      labelNames: ['outcome'],
      registers: http,
    });
    this.queries = new Counter({
      name: 'queries_total',
      help: 'Queries answered (200), by kind: the aggregation (count, sum, avg, min, max) or multi for several in one select.',
      labelNames: ['kind'],
      registers: http,
    });
    this.exportsFinished = new Counter({
      name: 'exports_finished_total',
      help: 'S3 exports this worker ended, by final status: complete, failed, cancelled.',
      labelNames: ['status'],
      registers: worker,
    });
    this.exportDuration = new Histogram({
      name: 'export_duration_seconds',
      help: 'Time from an S3 export first starting to its end (every attempt and retry delay included), by final status (seconds).',
      labelNames: ['status'],
      buckets: JOB_BUCKETS,
      registers: worker,
    });
    this.exportBytes = new Counter({
      name: 'export_bytes_total',
      help: 'Bytes of export objects uploaded to S3 by this worker, counted as S3 acknowledges each part (compressed size when gzip).',
      registers: worker,
    });
    this.importsFinished = new Counter({
      name: 'imports_finished_total',
      help: 'S3 imports this worker ended, by final status: complete, failed, cancelled.',
      labelNames: ['status'],
      registers: worker,
    });
    this.importDuration = new Histogram({
      name: 'import_duration_seconds',
      help: 'Time from an S3 import first starting to its end (every attempt and retry delay included), by final status (seconds).',
      labelNames: ['status'],
      buckets: JOB_BUCKETS,
      registers: worker,
    });
    this.importBytes = new Counter({
      name: 'import_bytes_total',
      help: 'Bytes of import objects read from S3 by this worker (as stored, i.e. compressed when gzip).',
      registers: worker,
    });
    const pools = this.pools;
    const poolGauge = (name: string, help: string, read: (pool: Pool) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [pool, value] of pools) this.set({ pool }, read(value));
        },
      });
    poolGauge('pg_pool_connections', 'Connections a PostgreSQL pool holds open (busy and idle), by pool.', (p) => p.totalCount);
    poolGauge('pg_pool_idle_connections', 'Open connections of a PostgreSQL pool that are free, by pool.', (p) => p.idleCount);
    poolGauge(
      'pg_pool_waiting_clients',
      'Statements (or streams) waiting for a connection of a PostgreSQL pool because all are busy, by pool.',
      (p) => p.waitingCount,
    );
    // Zero samples for the known label values, so rate() and alerts see a series from the start.
    for (const outcome of ['accepted', 'duplicate', 'rejected'] satisfies PushOutcome[]) this.eventsPushed.inc({ outcome }, 0);
    for (const status of ['complete', 'failed', 'cancelled'] satisfies JobOutcome[]) {
      this.exportsFinished.inc({ status }, 0);
      this.importsFinished.inc({ status }, 0);
    }
  }

  /** Shows `pool`'s connection counts under `name` (pg_pool_* gauges), read at each scrape. */
  addPool(name: string, pool: Pool): void {
    this.pools.set(name, pool);
  }

  /** Counts `count` pushed events with this outcome (nothing for 0). */
  pushed(outcome: PushOutcome, count = 1): void {
    if (count > 0) this.eventsPushed.inc({ outcome }, count);
  }

  /**
   * Counts an export's end, and observes its duration from `startedAt` (the export's first start;
   * nothing observed when unknown).
   */
  exportEnded(status: JobOutcome, startedAt: Date | null): void {
    this.exportsFinished.inc({ status });
    if (startedAt) this.exportDuration.observe({ status }, Math.max(0, (Date.now() - startedAt.getTime()) / 1000));
  }

  /** As `exportEnded`, for an import. */
  importEnded(status: JobOutcome, startedAt: Date | null): void {
    this.importsFinished.inc({ status });
    if (startedAt) this.importDuration.observe({ status }, Math.max(0, (Date.now() - startedAt.getTime()) / 1000));
  }

  /** The text exposition of every registered metric (collectors run now). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** `Content-Type` of `render`'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }
}
