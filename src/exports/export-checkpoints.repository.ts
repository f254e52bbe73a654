import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { takeProjectTurn } from '../common';
import { Export } from './entities/export.entity';

/** A part S3 acknowledged, as the checkpoint holds it (docs/exports.md, "Parts and resuming"). */
export interface CheckpointPart {
  partNumber: number;
  /** JSON text of the `id` of the event before the part's first line; null for the first part. */
  startAfterEventId: string | null;
  /** JSON text of the `id` of the part's last event. */
  endEventId: string;
  events: number;
  rawBytes: number;
  bytes: number;
  /** Base64 MD5 of the part as uploaded. */
  md5: string;
  etag: string;
  isLast: boolean;
}

/** What a worker needs to run (or continue) an export it has claimed. */
export interface ClaimedExport {
  record: Export;
  /** SecretBox ciphertext of the S3 credentials (null once wiped). */
  credentials: string | null;
}

/** The outcome of trying to claim an export for a run. */
export type Claim =
  | { kind: 'run'; export: ClaimedExport }
  /** Complete, Failed (cancelled) or unknown: nothing to do. */
  | { kind: 'finished' }
  /** Its project already runs EXPORT_MAX_RUNNING_PER_PROJECT exports, or another project's should go first. */
  | { kind: 'wait' };

/** An upload still open for an export that has ended (the sweep aborts it). */
export interface OpenUpload {
  exportId: string;
  /** SecretBox ciphertext of the S3 credentials (null once wiped). */
  credentials: string | null;
}

const PART_COLUMNS = `part_number AS "partNumber", start_after_event_id::text AS "startAfterEventId",
  end_event_id::text AS "endEventId", events, raw_bytes AS "rawBytes", bytes, md5, etag, is_last AS "isLast"`;

/**
 * The export worker's writes to an export: claiming it, its multipart upload and the parts S3
 * acknowledged (the checkpoint a resumed export continues from), progress, and its end. Every
 * write after the claim is guarded by `status = 'Running'`, so a cancelled export (the API sets it
 * Failed) stops being written at once and the worker learns it from the answer.
 */
@Injectable()
export class ExportCheckpointsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Marks an unfinished export Running (again, after a worker died or a retry) and counts the
   * attempt, unless it must wait for its project's turn (takeProjectTurn: EXPORT_MAX_RUNNING_PER_PROJECT
   * over every worker, other projects' waiting exports first).
   */
  async claim(id: string, maxRunning: number): Promise<Claim> {
    return this.dataSource.transaction(async (manager) => {
      const turn = await takeProjectTurn(manager, 'exports', id, maxRunning);
      if (turn !== 'run') return { kind: turn };
      const [rows]: [Array<{ s3_credentials_encrypted: string | null }>, number] = await manager.query(
        `UPDATE exports SET status = 'Running', started_at = coalesce(started_at, now()), attempts = attempts + 1
          WHERE id = $1 AND status IN ('Pending', 'Running')
          RETURNING s3_credentials_encrypted`,
        [id],
      );
      if (rows.length === 0) return { kind: 'finished' };
      const record = await manager.getRepository(Export).findOneByOrFail({ id });
      return { kind: 'run', export: { record, credentials: rows[0].s3_credentials_encrypted } };
    });
  }

  /**
   * Records the export's size (and the part size its upload keeps) on its first run.
   * @returns false when the export is no longer Running (cancelled) or a later attempt took it over.
   */
  async setMeasured(id: string, attempt: number, rawTotalBytes: number, totalBytes: number, partSizeBytes: number): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE exports SET raw_total_bytes = $3, total_bytes = $4, part_size_bytes = $5 WHERE id = $1 AND status = 'Running' AND attempts = $2`,
      [id, attempt, rawTotalBytes, totalBytes, partSizeBytes],
    );
    return count === 1;
  }

  /** Records the multipart upload being written. @returns false when the export is no longer Running or this attempt's. */
  async setUpload(id: string, attempt: number, uploadId: string): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE exports SET upload_id = $3 WHERE id = $1 AND status = 'Running' AND attempts = $2`,
      [id, attempt, uploadId],
    );
    return count === 1;
  }

  /**
   * Marks the export as being completed, before its object is: from then on a cancel answers 409,
   * so a cancel answered 200 never leaves an object behind.
   * @returns false when the export was cancelled first, or is no longer this attempt's.
   */
  async markCompleting(id: string, attempt: number): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE exports SET completing_at = coalesce(completing_at, now()) WHERE id = $1 AND status = 'Running' AND attempts = $2`,
      [id, attempt],
    );
    return count === 1;
  }

  /**
   * Uncounts attempt `attempt`, which stopped at a checkpoint because its worker shut down
   * (docs/shutdown.md): `attempts` goes back to what it was before the claim, so a shutdown does not
   * spend the export's EXPORT_MAX_ATTEMPTS. Only once the attempt wrote its last: the next claim
   * reuses the number as its fence.
   * @returns false when the export is no longer Running or no longer this attempt's.
   */
  async release(id: string, attempt: number): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE exports SET attempts = attempts - 1 WHERE id = $1 AND status = 'Running' AND attempts = $2`,
      [id, attempt],
    );
    return count === 1;
  }

  /** The parts of this upload S3 acknowledged, by part number. */
  parts(id: string, uploadId: string): Promise<CheckpointPart[]> {
    return this.dataSource
      .query(`SELECT ${PART_COLUMNS} FROM export_parts WHERE export_id = $1 AND upload_id = $2 ORDER BY part_number`, [id, uploadId])
      .then((rows: Array<Omit<CheckpointPart, 'rawBytes' | 'bytes'> & { rawBytes: string; bytes: string }>) =>
        rows.map((r) => ({ ...r, rawBytes: Number(r.rawBytes), bytes: Number(r.bytes) })),
      );
  }

  /**
   * Durably records an acknowledged part and the progress it makes, in one transaction: the checkpoint
   * and the monitor move together. transferredBytes = bytes of every acknowledged part; percentDone =
   * their share of the NDJSON before compression (at most 99.9 before Complete); with gzip, totalBytes
   * is projected from the compression ratio so far (never below transferredBytes).
   * `attempt` fences the write: an attempt that a later one took over (its worker was thought dead)
   * can no longer write.
   * @returns false when the export is no longer Running (cancelled) or no longer this attempt's: the part is not recorded.
   */
  async recordPart(id: string, attempt: number, uploadId: string, part: CheckpointPart): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      // The export's row is locked first, in a statement of its own: parts acknowledged at once
      // (EXPORT_QUEUE_SIZE > 1) are recorded one after the other, and the statement below, whose
      // READ COMMITTED snapshot is taken after the lock, counts every part recorded before it. In one
      // statement, FOR UPDATE waited for the other part's transaction but the sum still read the
      // snapshot from before it, so transferredBytes and percentDone lagged behind the checkpoint.
      const locked: unknown[] = await manager.query(
        `SELECT id FROM exports WHERE id = $1 AND status = 'Running' AND upload_id = $2 AND attempts = $3 FOR UPDATE`,
        [id, uploadId, attempt],
      );
      if (locked.length === 0) return false;
      const rows: unknown[] = await manager.query(
        `WITH live AS (
           SELECT id, raw_total_bytes, compression FROM exports WHERE id = $1 AND status = 'Running' AND upload_id = $2 AND attempts = $12 FOR UPDATE
         ), saved AS (
           INSERT INTO export_parts (export_id, upload_id, part_number, start_after_event_id, end_event_id, events, raw_bytes, bytes, md5, etag, is_last)
           SELECT id, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10, $11 FROM live
           ON CONFLICT (export_id, part_number) DO UPDATE SET upload_id = EXCLUDED.upload_id, start_after_event_id = EXCLUDED.start_after_event_id,
             end_event_id = EXCLUDED.end_event_id, events = EXCLUDED.events, raw_bytes = EXCLUDED.raw_bytes, bytes = EXCLUDED.bytes,
             md5 = EXCLUDED.md5, etag = EXCLUDED.etag, is_last = EXCLUDED.is_last
           RETURNING bytes, raw_bytes
         ), done AS (
           SELECT coalesce(sum(bytes), 0) AS bytes, coalesce(sum(raw_bytes), 0) AS raw_bytes FROM (
             SELECT bytes, raw_bytes FROM export_parts WHERE export_id = $1 AND upload_id = $2 AND part_number <> $3
             UNION ALL SELECT bytes, raw_bytes FROM saved
           ) p
         )
         UPDATE exports x
            SET transferred_bytes = GREATEST(x.transferred_bytes, done.bytes),
                percent_done = GREATEST(x.percent_done, LEAST(99.9, CASE WHEN live.raw_total_bytes > 0 THEN done.raw_bytes * 100.0 / live.raw_total_bytes ELSE 0 END)),
                total_bytes = CASE WHEN live.compression = 'none' THEN x.total_bytes
                                   ELSE GREATEST(done.bytes, round(live.raw_total_bytes * done.bytes::numeric / NULLIF(done.raw_bytes, 0))::bigint) END
           FROM live, done
          WHERE x.id = live.id AND EXISTS (SELECT 1 FROM saved)
          RETURNING x.id`,
        [
          id,
          uploadId,
          part.partNumber,
          part.startAfterEventId,
          part.endEventId,
          part.events,
          part.rawBytes,
          part.bytes,
          part.md5,
          part.etag,
          part.isLast,
          attempt,
        ],
      );
      return (rows as [unknown[], number])[1] === 1;
    });
  }

  /**
   * Marks an acknowledged part as the export's last: for an export whose events did not add up to
   * its measured size (they changed between attempts), so its last part was recorded as not last.
   * @returns false when the export is no longer Running or this attempt's, or the part is not recorded.
   */
  async markLastPart(id: string, attempt: number, uploadId: string, partNumber: number): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE export_parts p SET is_last = true
         FROM exports x
        WHERE p.export_id = $1 AND p.upload_id = $2 AND p.part_number = $3
          AND x.id = p.export_id AND x.status = 'Running' AND x.upload_id = $2 AND x.attempts = $4`,
      [id, uploadId, partNumber, attempt],
    );
    return count === 1;
  }

  /** The export as stored (its upload id, status), or null when it is gone. */
  openUpload(id: string): Promise<Export | null> {
    return this.dataSource.getRepository(Export).findOneBy({ id });
  }

  /** The export's SecretBox-sealed S3 credentials, or null once wiped. */
  async credentialsOf(id: string): Promise<string | null> {
    const rows: Array<{ c: string | null }> = await this.dataSource.query(
      `SELECT s3_credentials_encrypted AS c FROM exports WHERE id = $1`,
      [id],
    );
    return rows[0]?.c ?? null;
  }

  /**
   * Whether attempt `attempt` still owns the export: `running`; `ended` when it is no longer Running
   * (cancelled); `superseded` when a later attempt took it over.
   */
  async ownership(id: string, attempt: number): Promise<'running' | 'ended' | 'superseded'> {
    const rows: Array<{ status: string; attempts: number }> = await this.dataSource.query(
      `SELECT status, attempts FROM exports WHERE id = $1`,
      [id],
    );
    if (rows[0]?.status !== 'Running') return 'ended';
    return rows[0].attempts === attempt ? 'running' : 'superseded';
  }

  /**
   * Complete: transferredBytes = totalBytes = the object's size, 100 %; the upload is closed, its
   * checkpoint deleted and the credentials wiped, in one transaction.
   */
  async complete(id: string, objectBytes: number): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const [, count]: [unknown, number] = await manager.query(
        `UPDATE exports SET status = 'Complete', finished_at = now(), error = NULL, percent_done = 100,
                transferred_bytes = $2, total_bytes = $2, upload_id = NULL, s3_credentials_encrypted = NULL
          WHERE id = $1 AND status = 'Running'`,
        [id, objectBytes],
      );
      await manager.query(`DELETE FROM export_parts WHERE export_id = $1`, [id]);
      return count === 1;
    });
  }

  /**
   * Failed with a message for the client (no secrets). The credentials stay while a multipart
   * upload is open (aborting it needs them); `closeUpload` wipes them.
   */
  async fail(id: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE exports SET status = 'Failed', finished_at = now(), error = $2,
              s3_credentials_encrypted = CASE WHEN upload_id IS NULL THEN NULL ELSE s3_credentials_encrypted END
        WHERE id = $1 AND status IN ('Pending', 'Running')`,
      [id, error],
    );
  }

  /** After the upload was aborted (or never existed): forgets it and its parts, and wipes the credentials of an ended export. */
  async closeUpload(id: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query(
        `UPDATE exports SET upload_id = NULL,
                s3_credentials_encrypted = CASE WHEN status IN ('Complete', 'Failed') THEN NULL ELSE s3_credentials_encrypted END
          WHERE id = $1`,
        [id],
      );
      await manager.query(`DELETE FROM export_parts WHERE export_id = $1`, [id]);
    });
  }

  /** Ended exports of the deployment with this QUEUE_PREFIX whose multipart upload is still recorded (a worker stopped between the end and the abort), oldest first. */
  async openUploadsOfEnded(queuePrefix: string, limit = 100): Promise<OpenUpload[]> {
    const ids: Array<{ id: string; s3_credentials_encrypted: string | null }> = await this.dataSource.query(
      `SELECT id, s3_credentials_encrypted FROM exports
        WHERE upload_id IS NOT NULL AND status IN ('Complete', 'Failed') AND (queue_prefix = $2 OR queue_prefix IS NULL)
        ORDER BY finished_at LIMIT $1`,
      [limit, queuePrefix],
    );
    return ids.map((row) => ({ exportId: row.id, credentials: row.s3_credentials_encrypted }));
  }
}
