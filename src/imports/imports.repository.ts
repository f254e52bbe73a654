import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { takeProjectTurn } from '../common';

/** Import statuses, capitalised like exports' (docs/imports.md, "The monitor document"). */
export enum ImportStatus {
  Pending = 'Pending',
  Running = 'Running',
  Complete = 'Complete',
  Failed = 'Failed',
}

/** One entry of `eventErrors`: the 0-based index of the line in the object, and why it was not stored. */
export interface EventError {
  index: number;
  error: string;
}

/** An import's row (table `event_imports`, migrations/1764510000000-EventImports.ts). */
export interface ImportRecord {
  id: string;
  projectId: string;
  collection: string;
  s3Endpoint: string | null;
  s3Region: string;
  s3Bucket: string;
  s3Key: string;
  status: ImportStatus;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Attempts started; an attempt writes only while this is still its number. */
  attempts: number;
  /** Size of the object, bytes (null until the first attempt looked). */
  objectBytes: number | null;
  objectEtag: string | null;
  /** Whether the object is gzip-compressed (null until the first attempt looked). */
  gzip: boolean | null;
  /** Committed position: the byte offset in the NDJSON text (decompressed, for gzip) of the next line. */
  positionBytes: number;
  /** Bytes of the object read when the position was committed (progress). */
  readBytes: number;
  /** Committed position: the index of the next line. */
  lineIndex: number;
  importedEvents: number;
  duplicateEvents: number;
  eventErrorCount: number;
  eventErrors: EventError[];
}

/** A new import as the API stores it. */
export type NewImport = Pick<ImportRecord, 'id' | 'projectId' | 'collection' | 's3Endpoint' | 's3Region' | 's3Bucket' | 's3Key'> & {
  credentialsSealed: string;
  queuePrefix: string;
};

/** What one committed batch adds to an import. */
export interface BatchOutcome {
  positionBytes: number;
  readBytes: number;
  lineIndex: number;
  /** Valid events of the batch (stored + duplicates). */
  validEvents: number;
  eventErrors: EventError[];
  /** Event errors of the batch in all (those beyond MAX_EVENT_ERRORS are counted, not listed). */
  eventErrorCount: number;
}

const COLUMNS = `id, project_id AS "projectId", collection, s3_endpoint AS "s3Endpoint", s3_region AS "s3Region",
  s3_bucket AS "s3Bucket", s3_key AS "s3Key", status, error, created_at AS "createdAt", started_at AS "startedAt",
  finished_at AS "finishedAt", attempts, object_bytes AS "objectBytes", object_etag AS "objectEtag", gzip,
  position_bytes AS "positionBytes", read_bytes AS "readBytes", line_index AS "lineIndex",
  imported_events AS "importedEvents", duplicate_events AS "duplicateEvents", event_error_count AS "eventErrorCount",
  event_errors AS "eventErrors"`;

const BIGINTS = ['objectBytes', 'positionBytes', 'readBytes', 'lineIndex', 'importedEvents', 'duplicateEvents', 'eventErrorCount'] as const;
const IMPORT_CAP_LOCK_NAMESPACE = 0x494d5031; // 'IMP1'

function toRecord(row: Record<string, unknown>): ImportRecord {
  const record = { ...row };
  for (const name of BIGINTS) {
    if (record[name] !== null) record[name] = Number(record[name]);
  }
  return record as unknown as ImportRecord;
}

/** Raised inside `commitBatch` when the attempt may no longer write (cancelled, or taken over). */
export class ImportOwnershipLostError extends Error {
  override name = 'ImportOwnershipLostError';
}

/**
 * Import records. Every write of a worker is fenced by `attempts` and `status = 'Running'`: a
 * superseded or cancelled attempt changes nothing.
 */
@Injectable()
export class ImportsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts a Pending import unless its project already has `maxUnfinished` Pending or Running
   * ones (checked under a per-project advisory lock, so concurrent requests never exceed it).
   * @returns the stored import, or null at the cap.
   */
  async createWithinCap(record: NewImport, maxUnfinished: number): Promise<ImportRecord | null> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [IMPORT_CAP_LOCK_NAMESPACE, record.projectId]);
      const [row]: Array<{ count: number }> = await manager.query(
        `SELECT count(*)::int AS count
           FROM (SELECT 1 FROM event_imports WHERE project_id = $1 AND status IN ('Pending', 'Running') LIMIT $2) u`,
        [record.projectId, maxUnfinished],
      );
      if (row.count >= maxUnfinished) return null;
      const [inserted]: Array<Record<string, unknown>> = await manager.query(
        `INSERT INTO event_imports (id, project_id, collection, s3_endpoint, s3_region, s3_bucket, s3_key, s3_credentials_encrypted, queue_prefix)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING ${COLUMNS}`,
        [
          record.id,
          record.projectId,
          record.collection,
          record.s3Endpoint,
          record.s3Region,
          record.s3Bucket,
          record.s3Key,
          record.credentialsSealed,
          record.queuePrefix,
        ],
      );
      return toRecord(inserted);
    });
  }

  /** The project's import `id`, or null. */
  async findOne(projectId: string, id: string): Promise<ImportRecord | null> {
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM event_imports WHERE id = $1 AND project_id = $2`,
      [id, projectId],
    );
    return row ? toRecord(row) : null;
  }

  /**
   * Cancels an unfinished import of this project in one UPDATE guarded by `status IN ('Pending', 'Running')`:
   * Failed with `error`, finished now, credentials wiped. A running attempt's next commit then writes nothing.
   * @returns the cancelled import; `'finished'` when it is already Complete or Failed; null when there is none.
   */
  async cancel(projectId: string, id: string, error: string): Promise<ImportRecord | 'finished' | null> {
    // For UPDATE … RETURNING, TypeORM's postgres driver answers [rows, affected row count].
    const [rows]: [Array<Record<string, unknown>>, number] = await this.dataSource.query(
      `UPDATE event_imports SET status = 'Failed', error = $3, finished_at = now(), s3_credentials_encrypted = NULL
        WHERE id = $1 AND project_id = $2 AND status IN ('Pending', 'Running')
        RETURNING ${COLUMNS}`,
      [id, projectId, error],
    );
    if (rows.length > 0) return toRecord(rows[0]);
    return (await this.findOne(projectId, id)) ? 'finished' : null;
  }

  /**
   * Starts an attempt: a Pending or Running import becomes Running with `attempts` + 1 (so any
   * earlier attempt still alive stops writing), unless it must wait for its project's turn
   * (takeProjectTurn: IMPORT_MAX_RUNNING_PER_PROJECT over every worker, other projects' waiting
   * imports first; an import already Running keeps its turn).
   * @returns the import and its sealed credentials; `'wait'`; null when it is finished or gone.
   */
  async claim(id: string, maxRunning: number): Promise<{ record: ImportRecord; credentials: string | null } | 'wait' | null> {
    return this.dataSource.transaction(async (manager) => {
      const turn = await takeProjectTurn(manager, 'event_imports', id, maxRunning);
      if (turn === 'finished') return null;
      if (turn === 'wait') return 'wait';
      const [rows]: [Array<Record<string, unknown>>, number] = await manager.query(
        `UPDATE event_imports SET status = 'Running', started_at = COALESCE(started_at, now()), attempts = attempts + 1
          WHERE id = $1 AND status IN ('Pending', 'Running')
          RETURNING ${COLUMNS}, s3_credentials_encrypted AS "credentials"`,
        [id],
      );
      if (rows.length === 0) return null;
      const { credentials, ...rest } = rows[0];
      return { record: toRecord(rest), credentials: credentials as string | null };
    });
  }

  /**
   * Uncounts attempt `attempts`, which stopped after a committed batch because its worker shut down
   * (docs/shutdown.md): `attempts` goes back to what it was before the claim, so a shutdown does not
   * spend the import's EXPORT_MAX_ATTEMPTS; the next claim reuses the number as its fence.
   * @returns false when the import is no longer Running or no longer this attempt's.
   */
  async release(id: string, attempts: number): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query(
      `UPDATE event_imports SET attempts = attempts - 1 WHERE id = $1 AND attempts = $2 AND status = 'Running'`,
      [id, attempts],
    );
    return affected === 1;
  }

  /** Whether attempt `attempts` still owns the import. */
  async ownership(id: string, attempts: number): Promise<'running' | 'ended' | 'superseded'> {
    const [row]: Array<{ status: ImportStatus; attempts: number }> = await this.dataSource.query(
      'SELECT status, attempts FROM event_imports WHERE id = $1',
      [id],
    );
    if (!row || row.status !== ImportStatus.Running) return 'ended';
    return row.attempts === attempts ? 'running' : 'superseded';
  }

  /** Records what the first attempt found: the object's size, ETag and compression. @returns false when the attempt lost ownership. */
  async setObject(id: string, attempts: number, objectBytes: number, etag: string | null, gzip: boolean): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query(
      `UPDATE event_imports SET object_bytes = $3, object_etag = $4, gzip = $5
        WHERE id = $1 AND attempts = $2 AND status = 'Running'`,
      [id, attempts, objectBytes, etag, gzip],
    );
    return affected === 1;
  }

  /**
   * Commits one batch in one transaction: `store` writes the batch's events (returning how many
   * were new), and the import's position and counts move on with them, so a later attempt
   * continues exactly after the batch. The import's row is locked first: a cancel waits for the
   * commit, and a commit after a cancel or by a superseded attempt writes nothing.
   * @returns how many events `store` stored.
   * @throws ImportOwnershipLostError when attempt `attempts` no longer owns the import.
   */
  async commitBatch(
    id: string,
    attempts: number,
    statementTimeoutMs: number,
    outcome: BatchOutcome,
    store: (manager: EntityManager) => Promise<number>,
  ): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT set_config('statement_timeout', $1, true)`, [String(statementTimeoutMs)]);
      const owned: unknown[] = await manager.query(
        `SELECT 1 FROM event_imports WHERE id = $1 AND attempts = $2 AND status = 'Running' FOR UPDATE`,
        [id, attempts],
      );
      if (owned.length === 0) throw new ImportOwnershipLostError(`import ${id}: attempt ${attempts} no longer owns it`);
      const stored = await store(manager);
      await manager.query(
        `UPDATE event_imports
            SET position_bytes = $2, read_bytes = $3, line_index = $4,
                imported_events = imported_events + $5, duplicate_events = duplicate_events + $6,
                event_error_count = event_error_count + $7, event_errors = event_errors || $8::jsonb
          WHERE id = $1`,
        [
          id,
          outcome.positionBytes,
          outcome.readBytes,
          outcome.lineIndex,
          stored,
          outcome.validEvents - stored,
          outcome.eventErrorCount,
          JSON.stringify(outcome.eventErrors),
        ],
      );
      return stored;
    });
  }

  /** Marks the import Complete (credentials wiped). @returns false when attempt `attempts` lost ownership. */
  async complete(id: string, attempts: number): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.dataSource.query(
      `UPDATE event_imports SET status = 'Complete', finished_at = now(), read_bytes = COALESCE(object_bytes, read_bytes),
              s3_credentials_encrypted = NULL
        WHERE id = $1 AND attempts = $2 AND status = 'Running'`,
      [id, attempts],
    );
    return affected === 1;
  }

  /** Marks an unfinished import Failed with `error` (credentials wiped). */
  async fail(id: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE event_imports SET status = 'Failed', error = $2, finished_at = now(), s3_credentials_encrypted = NULL
        WHERE id = $1 AND status IN ('Pending', 'Running')`,
      [id, error.slice(0, 1000)],
    );
  }

  /** Ids of this deployment's unfinished imports, oldest first (at most 1,000): the sweep's work. */
  async unfinishedIds(queuePrefix: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM event_imports WHERE status IN ('Pending', 'Running') AND queue_prefix = $1 ORDER BY created_at LIMIT 1000`,
      [queuePrefix],
    );
    return rows.map((r) => r.id);
  }
}
