import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import { Gauge } from 'prom-client';
import { withTimeout } from '../common';
import { redisConfig, RedisConfig } from '../config';
import { EXPORT_QUEUE } from '../exports';
import { IMPORT_QUEUE } from '../imports';
import { Metrics } from './metrics';

/** Job states shown per queue. */
const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

type Sample = { queue: string; counts: Record<(typeof STATES)[number], number> | null };

/**
 * Gauges of the export and import queues, read from Redis at each scrape: `bull_queue_jobs{queue,
 * state}` and `bull_queue_up{queue}` (0 when Redis did not answer within REDIS_COMMAND_TIMEOUT_MS;
 * the scrape then answers without that queue's job counts instead of waiting).
 */
@Injectable()
export class QueueMetrics {
  private inFlight: Promise<Sample[]> | null = null;

  constructor(
    metrics: Metrics,
    @Inject(redisConfig.KEY) private readonly redisConfig: RedisConfig,
    @InjectQueue(EXPORT_QUEUE) exportQueue: Queue,
    @InjectQueue(IMPORT_QUEUE) importQueue: Queue,
  ) {
    const queues = [exportQueue, importQueue];
    // Both gauges are collected at once by one scrape: they share one read of Redis.
    const sample = () => (this.inFlight ??= this.read(queues).finally(() => (this.inFlight = null)));
    new Gauge({
      name: 'bull_queue_jobs',
      help: 'Jobs in a Bull queue, by queue (exports, imports) and state (waiting, active, delayed, failed), read from Redis at each scrape.',
      labelNames: ['queue', 'state'],
      registers: [metrics.registry],
      async collect() {
        const samples = await sample();
        this.reset();
        for (const { queue, counts } of samples) {
          if (counts) for (const state of STATES) this.set({ queue, state }, counts[state]);
        }
      },
    });
    new Gauge({
      name: 'bull_queue_up',
      help: "1 when the queue's job counts were read from Redis at this scrape, 0 when Redis did not answer in time.",
      labelNames: ['queue'],
      registers: [metrics.registry],
      async collect() {
        for (const { queue, counts } of await sample()) this.set({ queue }, counts ? 1 : 0);
      },
    });
  }

  private read(queues: Queue[]): Promise<Sample[]> {
    return Promise.all(
      queues.map(async (queue) => {
        try {
          const counts = await withTimeout(queue.getJobCounts(), this.redisConfig.commandTimeoutMs, () => new Error('timeout'));
          return { queue: queue.name, counts: Object.fromEntries(STATES.map((s) => [s, counts[s] ?? 0])) as Sample['counts'] };
        } catch {
          return { queue: queue.name, counts: null };
        }
      }),
    );
  }
}
