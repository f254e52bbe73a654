import { ApiProperty } from '@nestjs/swagger';
import { Export, ExportStatus } from '../entities/export.entity';
import { exportFileName } from '../export-object';

/** The monitor document of an S3 export (Connect docs, "Exporting events": "Monitoring the export"), field for field. */
export class ExportStatusDto {
  @ApiProperty({
    example: '55b80dd4eb6742481c62c05e.json',
    description: 'Object name under the s3Path prefix: `<id>.json`, or `<id>.json.gz` for an export with `"compression": "gzip"`.',
  })
  filename: string;

  @ApiProperty({ example: 'testing' })
  collection: string;

  @ApiProperty({ enum: ExportStatus, example: ExportStatus.Pending })
  status: ExportStatus;

  @ApiProperty({ example: '2015-07-28T23:18:44.698Z', description: 'UTC.' })
  created: string;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'UTC; null while Pending.' })
  started: string | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'UTC; null while Pending or Running.' })
  finished: string | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why the export failed, when Failed.' })
  error: string | null;

  @ApiProperty({ example: 0, minimum: 0, maximum: 100, description: 'Progress, 0–100; never goes backwards.' })
  percentDone: number;

  @ApiProperty({ example: 0, description: 'Bytes uploaded to S3 so far (completed parts).' })
  transferredBytes: number;

  @ApiProperty({ example: 0, description: 'Size of the export in bytes; 0 until the worker has measured it.' })
  totalBytes: number;

  static from(record: Export): ExportStatusDto {
    return {
      filename: exportFileName(record.id, record.compression),
      collection: record.collection,
      status: record.status,
      created: record.createdAt.toISOString(),
      started: record.startedAt?.toISOString() ?? null,
      finished: record.finishedAt?.toISOString() ?? null,
      error: record.error,
      percentDone: Math.round(record.percentDone * 100) / 100,
      transferredBytes: record.transferredBytes,
      totalBytes: record.totalBytes,
    };
  }
}
