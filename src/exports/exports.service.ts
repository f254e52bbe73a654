import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, StreamableFile } from '@nestjs/common';
import type { Queue } from 'bull';
import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  decodeKeysetCursor,
  DEPENDENCY_RETRY_AFTER_SECONDS,
  encodeKeysetCursor,
  NotFoundError,
  SecretBox,
  ServiceUnavailableError,
  TooManyRequestsError,
  TooManyResultsError,
  ValidationError,
  withTimeout,
} from '../common';
import {
  DatabaseConfig,
  databaseConfig,
  ExportsConfig,
  exportsConfig,
  limitsConfig,
  LimitsConfig,
  redisConfig,
  RedisConfig,
} from '../config';
import { parseExportQuery, parseQueryBody, parseQueryParam } from '../query';
import type { FilterCondition } from '../query';
import { CreateS3ExportDto } from './dto/create-s3-export.dto';
import { ExportListDto, ExportListItemDto, ListExportsQueryDto } from './dto/export-list.dto';
import { ExportStatusDto } from './dto/export-status.dto';
import { ExportCompression, ExportStatus } from './entities/export.entity';
import { EventReader } from './event-reader';
import { EXPORT_JOB, EXPORT_QUEUE, ExportJobData, MAX_S3_EXPORT_EVENTS, MAX_SMALL_EXPORT_EVENTS } from './exports.constants';
import { ExportListPosition, ExportScope, ExportsRepository } from './exports.repository';
import { serializeSelection } from './frozen-selection';
import { minRateReadable, SlowClientError } from './min-rate-readable';
import { exportObjectKey } from './export-object';
import { parseS3Path } from '../s3';

/** Rows fetched per round trip while streaming a small export. */
const STREAM_BATCH_ROWS = 500;
/** JSON characters of a small export held in memory before answering (see `smallExport`). */
const READ_AHEAD_CHARS = 8 * 1024 * 1024;
/**
 * Characters per chunk of a streamed small export: small enough that the transfer rate seen by
 * `minRateReadable` moves in steps well below EXPORT_STREAM_MIN_BYTES_PER_SECOND × one window.
 */
const STREAM_CHUNK_CHARS = 16 * 1024;

/** The `error` of a cancelled export (its monitor document says Failed with this message). */
export const EXPORT_CANCELLED_MESSAGE = 'The export was cancelled.';
/**
 * `Retry-After` (seconds) of the 429 answered when a project has EXPORT_MAX_PENDING_PER_PROJECT
 * unfinished exports: about how often a small export finishes, and well below a large one's run time.
 */
export const PENDING_CAP_RETRY_AFTER_SECONDS = 30;
/** Page size of GET /exports when `limit` is absent. */
export const DEFAULT_EXPORT_LIST_LIMIT = 20;

const EXPORT_ID = /^[0-9a-f]{24}$/;

/** The opaque `next` cursor of GET /exports: base64url of `<created_at with µs>,<id>` of the page's last export. */
export function encodeExportCursor(position: ExportListPosition): string {
  return encodeKeysetCursor(position);
}

/**
 * Reads a cursor of `encodeExportCursor`.
 * @throws ValidationError (422, field `cursor`) for anything else.
 */
export function decodeExportCursor(cursor: string): ExportListPosition {
  return decodeKeysetCursor(cursor, 'GET /exports');
}

function tooManyUnfinished(cap: number): TooManyRequestsError {
  return new TooManyRequestsError(
    `This project already has ${cap} unfinished S3 exports (Pending or Running), the most it may have at once. ` +
      'Wait for one to finish, or cancel one (DELETE /events/:collection/export/:id), then try again.',
    PENDING_CAP_RETRY_AFTER_SECONDS,
  );
}

function exportNotFound(collection: string, id: string): NotFoundError {
  return new NotFoundError(`No export '${id.slice(0, 64)}' in collection '${collection.slice(0, 255)}'.`);
}

function tooManyForSmallExport(): TooManyResultsError {
  return new TooManyResultsError(
    `The query matched more than ${MAX_SMALL_EXPORT_EVENTS.toLocaleString('en-US')} events. ` +
      'Export them to Amazon S3 instead (POST /events/:collection/export, up to 1,000,000 events).',
  );
}

/** `{"results":[…]}` text from lines already read and, optionally, the rest of a cursor, in chunks of about STREAM_CHUNK_CHARS. */
async function* jsonResults(head: string[], rest: AsyncIterator<[string]> | null): AsyncGenerator<string> {
  let chunk = '{"results":[';
  let first = true;
  const add = (line: string) => {
    chunk += first ? line : `,${line}`;
    first = false;
  };
  for (const line of head) {
    add(line);
    if (chunk.length >= STREAM_CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  for (let next = rest ? await rest.next() : null; next && !next.done; next = await rest!.next()) {
    add(next.value[0]);
    if (chunk.length >= STREAM_CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]}`;
}

/** The created export: its monitor document and where to watch it. */
export interface CreatedExport {
  status: ExportStatusDto;
  location: string;
}

/** Small exports (streamed in the response) and S3 exports (queued for the worker). */
@Injectable()
export class ExportsService {
  private readonly logger = new Logger(ExportsService.name);

  constructor(
    private readonly exports: ExportsRepository,
    @Inject(exportsConfig.KEY) private readonly exportsConfig: ExportsConfig,
    @Inject(databaseConfig.KEY) private readonly databaseConfig: DatabaseConfig,
    @Inject(redisConfig.KEY) private readonly redisConfig: RedisConfig,
    @Inject(limitsConfig.KEY) private readonly limitsConfig: LimitsConfig,
    private readonly secretBox: SecretBox,
    private readonly reader: EventReader,
    @InjectQueue(EXPORT_QUEUE) private readonly queue: Queue<ExportJobData>,
  ) {}

  /**
   * Small export (Connect docs, "Exporting events": "Small exports"): `{"results": [events]}` in (timestamp, id)
   * order, from one REPEATABLE READ snapshot (EventReader.openForSmallExport: a connection of ExportReadPool).
   *
   * One pass in the common case: the first rows (up to READ_AHEAD_CHARS of JSON) are read before
   * answering; if the result ends within them, the 413 is decided by that read alone. A larger
   * result is counted in the same snapshot, then streamed from its start, so memory stays bounded
   * by READ_AHEAD_CHARS whatever the events' size.
   *
   * `keyFilters` (a filtered key's conditions, ProjectContext.keyFilters) are ANDed with the query's (docs/keys.md).
   *
   * A client that reads fewer than EXPORT_STREAM_MIN_BYTES_PER_SECOND × EXPORT_STREAM_GRACE_MS / 1000
   * bytes in one window of EXPORT_STREAM_GRACE_MS is disconnected (see `minRateReadable`), and its
   * connection goes back to the pool.
   * @throws ValidationError (422) for an invalid or repeated query, one with select/groupBy/interval, or
   *         one over a cap of LimitsConfig.query;
   *         TooManyResultsError (413) when more than 10,000 events match;
   *         ServiceUnavailableError (503, Retry-After) when the project already streams
   *         EXPORT_STREAM_CONNECTIONS_PER_PROJECT exports, or every streaming connection is busy.
   */
  async smallExport(
    projectId: string,
    collection: string,
    rawQuery: unknown,
    keyFilters: readonly FilterCondition[] = [],
  ): Promise<StreamableFile> {
    const limits = this.limitsConfig.query;
    const selection = parseExportQuery(parseQueryParam(rawQuery, limits.maxDocumentChars), new Date(), limits, keyFilters);
    const scope: ExportScope = { projectId, collection, selection, maxEventRowId: null };
    const session = await this.reader.openForSmallExport(projectId);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      void session.close();
    };
    try {
      let rows = session.lines(scope, MAX_SMALL_EXPORT_EVENTS + 1, STREAM_BATCH_ROWS);
      const head: string[] = [];
      let chars = 0;
      let complete = false;
      while (!complete && chars < READ_AHEAD_CHARS) {
        const next = await rows.next();
        complete = next.done === true;
        if (!next.done) {
          head.push(next.value[0]);
          chars += next.value[0].length;
        }
      }
      if (head.length > MAX_SMALL_EXPORT_EVENTS) {
        throw tooManyForSmallExport();
      }
      if (!complete) {
        // Too large to hold: count in this snapshot, then stream again from the first row.
        await session.closeLines();
        head.length = 0;
        if ((await session.countUpTo(scope, MAX_SMALL_EXPORT_EVENTS)) > MAX_SMALL_EXPORT_EVENTS) {
          throw tooManyForSmallExport();
        }
        // PostgreSQL times an open cursor as one statement, from the first fetch to the last, so the
        // API's statement timeout would cut a client that reads for longer than it. This read was
        // already proven cheap (the read-ahead and the count ran under that timeout); how long the
        // client takes is bounded by the minimum transfer rate instead, and by the export timeout.
        await session.setStatementTimeout(this.databaseConfig.exportStatementTimeoutMs);
        rows = session.lines(scope, MAX_SMALL_EXPORT_EVENTS + 1, STREAM_BATCH_ROWS);
      }
      const readable = minRateReadable(
        jsonResults(head, complete ? null : rows),
        this.exportsConfig.streamMinBytesPerSecond,
        this.exportsConfig.streamGraceMs,
      );
      // Runs whether the body was sent in full, failed, or the client went away before it started.
      readable.once('close', release);
      const file = new StreamableFile(readable, { type: 'application/json; charset=utf-8' });
      file.setErrorLogger((error) => {
        if (error instanceof SlowClientError) {
          this.logger.warn(`small export of project ${projectId}: ${error.message}`);
        } else {
          this.logger.error(error.stack ?? error.message);
        }
      });
      return file;
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Creates an S3 export (Connect docs, "Exporting events": "Exporting to Amazon S3"): validates everything,
   * freezes the selection, stores the credentials encrypted and queues the job (its data is the
   * export id only). The frozen selection holds a filtered key's conditions (`keyFilters`) ANDed
   * with the query's (docs/keys.md), so the worker exports exactly what the key allows.
   *
   * The committed row in PostgreSQL is what makes the export happen; the job is only a wake-up
   * call. So when Redis does not take the job within REDIS_COMMAND_TIMEOUT_MS, the export is still
   * answered 201 (Pending): the workers' sweep (EXPORT_SWEEP_INTERVAL_MS) queues it once Redis is back.
   * `compression` (`none` by default, or `gzip`) is stored with the export and names the object:
   * `<prefix><id>.json` or `<prefix><id>.json.gz`.
   *
   * A project may have at most EXPORT_MAX_PENDING_PER_PROJECT unfinished (Pending or Running) exports:
   * checked before the matching events are counted, and again atomically with the insert
   * (ExportsRepository.createWithinCap), so concurrent requests never exceed it.
   * @throws ValidationError (422) for an invalid query (or one over a cap of LimitsConfig.query), s3Path or compression;
   *         TooManyRequestsError (429, Retry-After PENDING_CAP_RETRY_AFTER_SECONDS) when the project has
   *         EXPORT_MAX_PENDING_PER_PROJECT unfinished exports; TooManyResultsError (413) over
   *         1,000,000 events, before anything is uploaded; driver errors when PostgreSQL is
   *         unreachable (the error funnel answers 503 with Retry-After).
   */
  async createS3Export(
    projectId: string,
    collection: string,
    body: CreateS3ExportDto,
    baseUrl: string,
    keyFilters: readonly FilterCondition[] = [],
  ): Promise<CreatedExport> {
    // An object query was parsed with the body (parseJsonBody), which keeps every digit of numbers too.
    const limits = this.limitsConfig.query;
    const selection = parseExportQuery(parseQueryBody(body.query, limits.maxDocumentChars), new Date(), limits, keyFilters);
    const location = parseS3Path(body.s3Path, this.exportsConfig.s3AllowedEndpoints);
    const compression = body.compression ?? ExportCompression.None;
    const id = randomBytes(12).toString('hex');
    const key = exportObjectKey(location, id, compression);
    // Cheap check first, so a project at its cap never pays for the count below; enforced again at insert.
    const cap = this.exportsConfig.maxPendingPerProject;
    if ((await this.exports.countUnfinished(projectId, cap)) >= cap) {
      throw tooManyUnfinished(cap);
    }
    const { count, maxEventRowId } = await this.exports.countMatching(
      { projectId, collection, selection, maxEventRowId: null },
      MAX_S3_EXPORT_EVENTS,
    );
    if (count > MAX_S3_EXPORT_EVENTS) {
      throw new TooManyResultsError(
        `The query matched more than ${MAX_S3_EXPORT_EVENTS.toLocaleString('en-US')} events, the most one export can hold. ` +
          'Narrow the timeframe or filter and export in several parts.',
      );
    }
    const record = await this.exports.createWithinCap(
      {
        id,
        projectId,
        collection,
        selection: serializeSelection(selection),
        maxEventRowId,
        eventCount: count,
        s3Endpoint: location.endpoint,
        s3Region: location.region,
        s3Bucket: location.bucket,
        s3Key: key,
        s3CredentialsEncrypted: this.secretBox.encrypt(
          JSON.stringify({ accessKeyId: body.s3AccessKeyId, secretAccessKey: body.s3SecretAccessKey }),
        ),
        status: ExportStatus.Pending,
        compression,
        queuePrefix: this.redisConfig.queuePrefix,
      },
      cap,
    );
    if (!record) {
      throw tooManyUnfinished(cap);
    }
    this.logger.log({
      msg: `export ${id} created: ${count} events of ${collection} to s3://${location.bucket}/${key}`,
      event: 'export.created',
      exportId: id,
      projectId,
      collection,
      events: count,
      compression,
    });
    try {
      await this.enqueue(id);
    } catch (error) {
      this.logger.warn(`export ${id} is stored but not queued (${(error as Error).message}); the export sweep will queue it`);
    }
    return {
      status: ExportStatusDto.from(record),
      location: `${baseUrl}/events/${encodeURIComponent(collection)}/export/${id}`,
    };
  }

  /**
   * Queues an export's job; a no-op when a job with that id is already queued (jobId = export id).
   * Bull waits for Redis as long as ioredis keeps the command in its offline queue, so the wait is
   * cut at REDIS_COMMAND_TIMEOUT_MS (the command may still reach Redis later: jobId makes that harmless).
   * @throws ServiceUnavailableError (503) when Redis does not answer in time; Redis errors as they are.
   */
  async enqueue(exportId: string): Promise<void> {
    const ms = this.redisConfig.commandTimeoutMs;
    await withTimeout(
      this.queue.add(EXPORT_JOB, { exportId }, { jobId: exportId }),
      ms,
      () => new ServiceUnavailableError(`The export queue (Redis) did not answer within ${ms} ms.`, DEPENDENCY_RETRY_AFTER_SECONDS),
    );
  }

  /**
   * The monitor document (Connect docs, "Exporting events": "Monitoring the export").
   * @throws NotFoundError (404) for an unknown id, or one of another project or collection.
   */
  async status(projectId: string, collection: string, id: string): Promise<ExportStatusDto> {
    const record = EXPORT_ID.test(id) ? await this.exports.findOne(projectId, collection, id) : null;
    if (!record) {
      throw exportNotFound(collection, id);
    }
    return ExportStatusDto.from(record);
  }

  /**
   * Cancels an S3 export (docs/exports.md, "Cancelling"): one atomic UPDATE of a Pending or Running
   * export to Failed with error EXPORT_CANCELLED_MESSAGE and `finished` now. A Pending export never
   * starts (the worker only claims Pending or Running exports); a Running one's later progress and
   * completion writes change nothing (they are guarded by status Running). The credentials are wiped at once unless a multipart upload exists: then
   * the worker, or the workers' sweep, aborts the upload and wipes them.
   * @returns the monitor document after the cancellation.
   * @throws NotFoundError (404) for an unknown id, or one of another project or collection;
   *         ConflictError (409) when the export is already Complete or Failed, or is being completed
   *         (its worker has begun completing the object, which is then written whatever happens).
   */
  async cancel(projectId: string, collection: string, id: string): Promise<ExportStatusDto> {
    const outcome = EXPORT_ID.test(id) ? await this.exports.cancel(projectId, collection, id, EXPORT_CANCELLED_MESSAGE) : null;
    if (outcome === null) {
      throw exportNotFound(collection, id);
    }
    if (outcome === 'finished') {
      throw new ConflictError(`Export '${id}' has already finished; only Pending or Running exports can be cancelled.`);
    }
    if (outcome === 'completing') {
      throw new ConflictError(`Export '${id}' is being completed (its object is written); it can no longer be cancelled.`);
    }
    this.logger.log({ msg: `export ${id} cancelled`, event: 'export.cancelled', exportId: id, projectId });
    return ExportStatusDto.from(outcome);
  }

  /**
   * A page of the project's S3 exports (docs/exports.md, "Listing"), newest first (created, then id,
   * descending), optionally of one collection and/or status. `next` is an opaque cursor for the
   * following page, null on the last one. Pages are keyset-paginated: exports created while paging
   * appear on no later page, and none is skipped or repeated.
   * @throws ValidationError (422) for `collection[]=…` and such bracketed forms of a parameter (named
   *         after it); (field `cursor`) for a cursor not given by an earlier answer (the
   *         other parameters are validated by ListExportsQueryDto).
   */
  async list(projectId: string, params: ListExportsQueryDto, parameterNames: string[] = []): Promise<ExportListDto> {
    // `collection[]=x` (Rails, PHP style) reaches us as a parameter of its own name: refuse it rather
    // than ignore it, or the client would believe its filter applied.
    for (const name of parameterNames) {
      const known = /^(collection|status|limit|cursor)\[/.exec(name);
      if (known) throw ValidationError.of(known[1], `${known[1]} must be a plain parameter (${known[1]}=…), not ${name.slice(0, 64)}=…`);
    }
    const limit = params.limit ?? DEFAULT_EXPORT_LIST_LIMIT;
    const after = params.cursor === undefined ? undefined : decodeExportCursor(params.cursor);
    const rows = await this.exports.listPage({ projectId, collection: params.collection, status: params.status, limit: limit + 1, after });
    const page = rows.slice(0, limit);
    return {
      results: page.map(({ record }): ExportListItemDto => ({ id: record.id, ...ExportStatusDto.from(record) })),
      next: rows.length > limit ? encodeExportCursor(page[page.length - 1].position) : null,
    };
  }
}
