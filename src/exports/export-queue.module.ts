import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app.config';
import { EXPORT_QUEUE } from './exports.constants';

/**
 * The export queue, registered once, with its retry policy from config: a job is never retried
 * for an error (the runner records failures on the export itself); it is re-run only when its
 * worker died (stalled), up to EXPORT_MAX_STALLED_COUNT times.
 */
@Module({
  imports: [
    BullModule.registerQueueAsync({
      name: EXPORT_QUEUE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        settings: {
          lockDuration: config.exportLockDurationMs,
          lockRenewTime: Math.floor(config.exportLockDurationMs / 3),
          stalledInterval: config.exportStalledIntervalMs,
          maxStalledCount: config.exportMaxStalledCount,
        },
        defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: 1000 },
      }),
    }),
  ],
  exports: [BullModule],
})
export class ExportQueueModule {}
