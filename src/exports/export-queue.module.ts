import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { registerJobQueue } from '../common';
import { EXPORT_JOB_OPTIONS, EXPORT_QUEUE, exportBackoff } from './exports.constants';

/**
 * The export queue, registered once. A job runs again when its worker died (stalled, up to
 * EXPORT_MAX_STALLED_COUNT times) and after each transient failure, delayed by the `export`
 * backoff strategy (exports.constants.ts); the retry budget itself is the export's
 * (EXPORT_MAX_ATTEMPTS, EXPORT_RETRY_BUDGET_MS), kept in PostgreSQL by ExportRunner.
 */
@Module({
  imports: [registerJobQueue(EXPORT_QUEUE, 'export', exportBackoff, EXPORT_JOB_OPTIONS)],
  exports: [BullModule],
})
export class ExportQueueModule {}
