import { BullModule } from '@nestjs/bull';
import type { DynamicModule } from '@nestjs/common';
import type { JobOptions } from 'bull';
import { exportsConfig, ExportsConfig } from '../config';

/**
 * Registers a Bull queue of jobs that run until their own record (an export, an import) says they
 * are over: a job runs again when its worker died (stalled: its lock of EXPORT_LOCK_DURATION_MS
 * expired, checked every EXPORT_STALLED_INTERVAL_MS, up to EXPORT_MAX_STALLED_COUNT times) and after
 * each transient failure, delayed by the backoff strategy `strategy`.
 */
export function registerJobQueue(
  name: string,
  strategy: string,
  backoff: (config: ExportsConfig) => (attemptsMade: number, error: Error) => number,
  defaultJobOptions: JobOptions,
): DynamicModule {
  return BullModule.registerQueueAsync({
    name,
    inject: [exportsConfig.KEY],
    useFactory: (config: ExportsConfig) => ({
      settings: {
        lockDuration: config.lockDurationMs,
        lockRenewTime: Math.floor(config.lockDurationMs / 3),
        stalledInterval: config.stalledIntervalMs,
        maxStalledCount: config.maxStalledCount,
        backoffStrategies: { [strategy]: backoff(config) },
      },
      defaultJobOptions,
    }),
  });
}
