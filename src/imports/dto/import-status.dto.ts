import { ApiProperty } from '@nestjs/swagger';
import { ImportRecord, ImportStatus } from '../imports.repository';

class EventErrorDto {
  @ApiProperty({ example: 9951, description: 'The line of the object, counted from 0 (the first line is 0; empty lines count).' })
  index: number;

  @ApiProperty({ example: 'The JSON specified was not valid.' })
  error: string;
}

/** The monitor document of an import (Connect docs, "Importing events"), field for field. */
export class ImportStatusDto {
  @ApiProperty({ example: 'purchases' })
  collection: string;

  @ApiProperty({ enum: ImportStatus, example: ImportStatus.Running })
  status: ImportStatus;

  @ApiProperty({ example: '2015-04-01T00:32:45.000Z', description: 'UTC.' })
  created: string;

  @ApiProperty({ type: String, nullable: true, example: '2015-04-01T00:33:03.000Z', description: 'UTC; null while Pending.' })
  started: string | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'UTC; null while Pending or Running.' })
  finished: string | null;

  @ApiProperty({ example: 5130985, description: 'Events stored so far (committed).' })
  importedEvents: number;

  @ApiProperty({
    example: 0,
    description: 'Valid events not stored because an event with the same id was already stored (or came earlier in the file).',
  })
  duplicateEvents: number;

  @ApiProperty({
    example: 42.43,
    minimum: 0,
    maximum: 100,
    description: 'Bytes of the object read over its size, 0–100 (two decimals); 100 when Complete.',
  })
  percentComplete: number;

  @ApiProperty({ example: '15096/s', description: 'Events stored per second since the import started (to `finished`, or now).' })
  insertRate: string;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why the import failed, when Failed.' })
  error: string | null;

  @ApiProperty({
    type: [EventErrorDto],
    description: 'Lines that were not stored, and why: the first 1,000 (docs/imports.md, "The monitor document").',
    example: [{ index: 9951, error: 'The JSON specified was not valid.' }],
  })
  eventErrors: EventErrorDto[];

  static from(record: ImportRecord, now = new Date()): ImportStatusDto {
    const percent =
      record.status === ImportStatus.Complete ? 100 : record.objectBytes ? Math.min(100, (record.readBytes / record.objectBytes) * 100) : 0;
    const end = record.finishedAt ?? now;
    const seconds = record.startedAt ? (end.getTime() - record.startedAt.getTime()) / 1000 : 0;
    return {
      collection: record.collection,
      status: record.status,
      created: record.createdAt.toISOString(),
      started: record.startedAt?.toISOString() ?? null,
      finished: record.finishedAt?.toISOString() ?? null,
      importedEvents: record.importedEvents,
      duplicateEvents: record.duplicateEvents,
      percentComplete: Math.floor(percent * 100) / 100,
      insertRate: `${seconds > 0 ? Math.round(record.importedEvents / seconds) : 0}/s`,
      error: record.error,
      eventErrors: record.eventErrors,
    };
  }
}
