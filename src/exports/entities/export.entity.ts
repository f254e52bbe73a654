import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Project } from '../../projects';

/** Export statuses of the seed (Connect docs, "Exporting events": "Monitoring the export"). */
export enum ExportStatus {
  Pending = 'Pending',
  Running = 'Running',
  Complete = 'Complete',
  Failed = 'Failed',
}

/** How the exported object is written (`compression` of the POST body). */
export enum ExportCompression {
  None = 'none',
  Gzip = 'gzip',
}

const bigintAsNumber = {
  to: (value: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * An S3 export and its progress. The record lives in PostgreSQL so monitoring outlives the Bull
 * job. The selection is frozen at creation (relative timeframes resolved, event row high-water
 * mark taken) so a retried export writes exactly the same events.
 */
@Entity('exports')
@Index('exports_project_id_idx', ['projectId', 'createdAt'])
@Index('exports_unfinished_idx', ['createdAt'], { where: `status IN ('Pending', 'Running')` })
@Index('exports_project_status_idx', ['projectId', 'status', 'createdAt'])
@Index('exports_open_upload_idx', ['finishedAt'], { where: 'upload_id IS NOT NULL' })
@Check('exports_status_check', `status IN ('Pending', 'Running', 'Complete', 'Failed')`)
@Check('exports_compression_check', `compression IN ('none', 'gzip')`)
export class Export {
  /** 24 lower-case hex characters; also the exported object's name (`<id>.json`). */
  @PrimaryColumn({ type: 'char', length: 24 })
  id: string;

  @Column({ name: 'project_id', type: 'char', length: 24 })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id', foreignKeyConstraintName: 'exports_project_id_fkey' })
  project?: Project;

  @Column({ type: 'text' })
  collection: string;

  /** The EventSelection with absolute UTC bounds, as stored by `serializeSelection`. */
  @Column({ type: 'jsonb' })
  selection: object;

  /** Only events with a row id up to this one (those stored when the export was created) are exported. */
  @Column({ name: 'max_event_row_id', type: 'bigint', transformer: bigintAsNumber })
  maxEventRowId: number;

  /** Events matching when the export was created. */
  @Column({ name: 'event_count', type: 'bigint', transformer: bigintAsNumber })
  eventCount: number;

  /** Origin of an S3-compatible endpoint (path-style), or null for AWS S3. */
  @Column({ name: 's3_endpoint', type: 'text', nullable: true })
  s3Endpoint: string | null;

  @Column({ name: 's3_region', type: 'text' })
  s3Region: string;

  @Column({ name: 's3_bucket', type: 'text' })
  s3Bucket: string;

  /** Object key: `<prefix><id>.json`, or `<prefix><id>.json.gz` with gzip compression. */
  @Column({ name: 's3_key', type: 'text' })
  s3Key: string;

  /** SecretBox ciphertext of the S3 credentials; null once the export has ended. */
  @Column({ name: 's3_credentials_encrypted', type: 'text', nullable: true, select: false })
  s3CredentialsEncrypted: string | null;

  @Column({ type: 'text', default: ExportStatus.Pending })
  status: ExportStatus;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'percent_done', default: 0, type: 'double precision' })
  percentDone: number;

  @Column({ name: 'transferred_bytes', default: 0, type: 'bigint', transformer: bigintAsNumber })
  transferredBytes: number;

  @Column({ name: 'total_bytes', default: 0, type: 'bigint', transformer: bigintAsNumber })
  totalBytes: number;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /** `none` (`<id>.json`) or `gzip` (`<id>.json.gz`). */
  @Column({ type: 'text', default: ExportCompression.None })
  compression: ExportCompression;

  /** The multipart upload being written; null before it is created and once it is completed or aborted. */
  @Column({ name: 'upload_id', type: 'text', nullable: true })
  uploadId: string | null;

  /** Part size the upload was started with, bytes (a resumed export keeps it, so its parts end where they did). */
  @Column({ name: 'part_size_bytes', type: 'integer', nullable: true })
  partSizeBytes: number | null;

  /**
   * QUEUE_PREFIX of the deployment that created the export: only its workers sweep it (several
   * deployments may share one database). Null for exports made before it was recorded: every sweep's.
   */
  @Column({ name: 'queue_prefix', type: 'text', nullable: true })
  queuePrefix: string | null;

  /** When a worker began completing the object (CompleteMultipartUpload): from then on it cannot be cancelled. */
  @Column({ name: 'completing_at', type: 'timestamptz', nullable: true })
  completingAt: Date | null;

  /** NDJSON size before compression, bytes; null until measured. Equals totalBytes without compression. */
  @Column({ name: 'raw_total_bytes', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  rawTotalBytes: number | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
