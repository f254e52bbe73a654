import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app.config';
import { IMPORT_JOB_OPTIONS, IMPORT_QUEUE, importBackoff } from './imports.constants';

/**
 * The import queue. A job runs again when its worker died (stalled: its lock of
 * EXPORT_LOCK_DURATION_MS expired, up to EXPORT_MAX_STALLED_COUNT times) and after each transient
 * failure; the retry budget (EXPORT_MAX_ATTEMPTS, EXPORT_RETRY_BUDGET_MS) is kept in PostgreSQL.
 */
@Module({
  imports: [
    BullModule.registerQueueAsync({
      name: IMPORT_QUEUE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        settings: {
          lockDuration: config.exportLockDurationMs,
          lockRenewTime: Math.floor(config.exportLockDurationMs / 3),
          stalledInterval: config.exportStalledIntervalMs,
          maxStalledCount: config.exportMaxStalledCount,
          backoffStrategies: { import: importBackoff(config) },
        },
        defaultJobOptions: IMPORT_JOB_OPTIONS,
      }),
    }),
  ],
  exports: [BullModule],
})
export class ImportQueueModule {}
