import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { registerJobQueue } from '../common';
import { IMPORT_JOB_OPTIONS, IMPORT_QUEUE, importBackoff } from './imports.constants';

/** The import queue (docs/imports.md, "Resuming"); the retry budget is the import's, kept in PostgreSQL. */
@Module({
  imports: [registerJobQueue(IMPORT_QUEUE, 'import', importBackoff, IMPORT_JOB_OPTIONS)],
  exports: [BullModule],
})
export class ImportQueueModule {}
