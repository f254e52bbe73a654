import { S3ServiceException } from '@aws-sdk/client-s3';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import {
  AttemptWatch,
  AttemptWatchErrors,
  JobReleasedError,
  isDependencyUnavailable,
  isQueryCanceled,
  retryDelayMs,
  SecretBox,
  stringifyJson,
  WaitTurnError,
} from '../common';
import { exportsConfig, ExportsConfig } from '../config';
import { errorCodeOf } from '../logging';
import { Metrics } from '../metrics';
import type { EventSelection } from '../query';
import { Export, ExportCompression } from './entities/export.entity';
import { EventReader, EventReadSession, ReadPosition } from './event-reader';
import { CheckpointPart, ExportCheckpointsRepository } from './export-checkpoints.repository';
import { ExportScope } from './exports.repository';
import { deserializeSelection } from './frozen-selection';
import { GZIP_LEVEL, ndjsonBlocks, ndjsonParts, Part } from './ndjson-parts';
import type { S3Credentials } from '../s3';
import { isTransientS3Error, networkErrorCode, redactCredentials, s3RejectionHint } from '../s3';
import { multipartEtag, S3MultipartUploader, S3RequestTimeoutError } from './s3-multipart-uploader';

/** S3's limit on parts per upload, with room to spare: the part size grows when an export would need more. */
const MAX_PARTS = 9_000;

/** The export was cancelled (DELETE …/export/:id set it Failed): stop, abort the upload. */
export class ExportCancelledError extends Error {
  override name = 'ExportCancelledError';
}

/** A later attempt took the export over (this worker was thought dead): stop, touch nothing. */
export class ExportSupersededError extends Error {
  override name = 'ExportSupersededError';
}

/** An attempt read no row and got no S3 answer for EXPORT_STALL_TIMEOUT_MS. */
export class ExportStalledError extends Error {
  override name = 'ExportStalledError';
}

/** The events an export had checkpointed are no longer where they were (the collection was deleted meanwhile). */
export class ExportDataChangedError extends Error {
  override name = 'ExportDataChangedError';
}

/** Thrown to Bull: this attempt failed for a reason that may pass; run the job again after `delayMs`. */
export class ExportRetryLaterError extends Error {
  override name = 'ExportRetryLaterError';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/**
 * Whether an attempt's error may pass on its own: S3 5xx and throttling, timeouts, lost connections
 * (S3's or PostgreSQL's), a stalled attempt. Everything else (access denied, no such bucket, a wrong
 * region, a statement timeout) is final.
 */
export function isTransientExportError(error: unknown): boolean {
  if (error instanceof ExportStalledError || error instanceof S3RequestTimeoutError) return true;
  if (error instanceof ExportCancelledError || error instanceof ExportDataChangedError || error instanceof ExportSupersededError)
    return false;
  if (error instanceof S3ServiceException) return isTransientS3Error(error);
  if (isQueryCanceled(error)) return false;
  if (isTransientS3Error(error)) return true;
  return isDependencyUnavailable(error);
}

/** A message for the monitor's `error` field, saying what went wrong in the user's terms. */
export function describeExportError(error: unknown, record: Export, credentials: S3Credentials | null): string {
  const target = `s3://${record.s3Bucket}/${record.s3Key}${record.s3Endpoint ? ` at ${record.s3Endpoint}` : ''}`;
  if (error instanceof S3ServiceException) {
    const hint = s3RejectionHint(error);
    const reason = error.message.replace(/\.?\s*$/, '.');
    return redactCredentials(`S3 rejected the upload to ${target}: ${error.name}: ${reason}${hint}`, credentials);
  }
  const network = networkErrorCode(error);
  if (network) {
    return redactCredentials(`Could not reach S3 to upload ${target}: ${network}.`, credentials);
  }
  if (isQueryCanceled(error)) {
    return (
      'Reading the events took longer than the export statement timeout (EXPORT_STATEMENT_TIMEOUT_MS) allows. ' +
      'Narrow the timeframe or the filter and export in several parts.'
    );
  }
  if (error instanceof ExportStalledError) {
    return `The export made no progress for ${error.message.replace(/^no progress for /, '')} (S3 or PostgreSQL stopped answering) while uploading ${target}.`;
  }
  if (error instanceof ExportDataChangedError) {
    return 'The events being exported changed while the export ran (was the collection deleted?). Export them again.';
  }
  if (isDependencyUnavailable(error)) {
    return 'Lost the connection to PostgreSQL while reading the events.';
  }
  if (error instanceof S3RequestTimeoutError || (error instanceof Error && error.name === 'TimeoutError')) {
    return redactCredentials(`S3 did not answer in time while uploading ${target}.`, credentials);
  }
  return `The export failed while uploading ${target}. The failure was logged for the operator.`;
}

/** The errors an export's AttemptWatch stops it with. */
const EXPORT_WATCH_ERRORS: AttemptWatchErrors = {
  stalled: (ms) => new ExportStalledError(`no progress for ${ms} ms`),
  cancelled: () => new ExportCancelledError('The export was cancelled.'),
  superseded: () => new ExportSupersededError('a later attempt took the export over'),
};

/** A stretch of the export to read and upload: the rows after `afterEventId` up to `untilEventId`, as parts from `firstPartNumber`. */
interface Segment {
  afterEventId: string | null;
  /** Inclusive end; null = to the end of the export. */
  untilEventId: string | null;
  firstPartNumber: number;
  /** The part number the segment must end with (a gap between acknowledged parts); null = the export's last part. */
  lastPartNumber: number | null;
}

/**
 * What is left to upload given the acknowledged parts: each gap between them (parts that were in
 * flight when a worker died) and the rest after the last one. Empty when every part is acknowledged.
 */
export function resumePlan(acknowledged: CheckpointPart[]): Segment[] {
  const segments: Segment[] = [];
  let next = 1;
  let after: string | null = null;
  for (const part of acknowledged) {
    if (part.partNumber > next) {
      segments.push({
        afterEventId: after,
        untilEventId: part.startAfterEventId,
        firstPartNumber: next,
        lastPartNumber: part.partNumber - 1,
      });
    }
    after = part.endEventId;
    next = part.partNumber + 1;
  }
  if (!acknowledged.at(-1)?.isLast) {
    segments.push({ afterEventId: after, untilEventId: null, firstPartNumber: next, lastPartNumber: null });
  }
  return segments;
}

/**
 * A Connect query for the manifest (docs/exports.md, "The manifest"): the stored selection as
 * `filter` (operator form) and absolute `timeframe`. A selection can hold one path and operator
 * twice (a filtered key's `{"price": {"gt": 10}}` and the request's `{"price": {"gt": 20}}`,
 * docs/keys.md), which one filter object cannot say: then `filter` is an array of filter objects,
 * all ANDed, each condition in the first object without that path and operator, so none is lost.
 */
export function manifestQuery(selection: EventSelection): Record<string, unknown> {
  // Objects without a prototype: a path named `constructor` or `toString` is an ordinary key.
  const record = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;
  const filters = [record<Record<string, unknown>>()];
  for (const { path, operator, operand } of selection.filters) {
    const key = path.join('.');
    let target = filters.find((filter) => !(key in filter) || !(operator in filter[key]));
    if (!target) {
      target = record();
      filters.push(target);
    }
    (target[key] ??= record())[operator] = operand;
  }
  return {
    filter: filters.length === 1 ? filters[0] : filters,
    timeframe: { start: selection.timeframe?.start?.toISOString() ?? null, end: selection.timeframe?.end?.toISOString() ?? null },
  };
}

/** `<prefix><id>.manifest.json` next to `<prefix><id>.json` / `.json.gz`. */
export function manifestKey(objectKey: string): string {
  return objectKey.replace(/\.json(\.gz)?$/, '') + '.manifest.json';
}

/**
 * Runs one attempt of an S3 export (Connect docs, "Exporting events": "Exporting to Amazon S3";
 * docs/exports.md): claims it, measures it on its first run (events.line_bytes: no line rendered),
 * then streams the events not yet acknowledged with `COPY … TO STDOUT` in (timestamp, id) order,
 * cut into parts on line ends (ndjson-parts.ts), and uploads them with Content-MD5 into one
 * multipart upload, EXPORT_QUEUE_SIZE at once. Each part S3 acknowledges is recorded with the
 * progress it makes (the checkpoint), so a later attempt continues with the next part: parts
 * acknowledged are neither read again nor uploaded again, and the object is byte-identical.
 * Then it completes the upload, checks its ETag, writes `<prefix><id>.manifest.json` last, and marks
 * the export Complete.
 *
 * Failures: transient ones (ExportRetryLaterError) go back to Bull, which runs the job again after an
 * exponential, jittered delay, within EXPORT_MAX_ATTEMPTS and EXPORT_RETRY_BUDGET_MS; the export
 * stays Running meanwhile. Final ones, a cancel, or a spent budget end the export (Failed, clear
 * secret-free error) and abort its multipart upload. Credentials are wiped once the upload is closed.
 * When `release` aborts (the worker shuts down, docs/shutdown.md), the attempt stops at its next
 * checkpoint: it reads no further, lets the parts in flight be acknowledged and recorded, and is not
 * counted (attempts back to what it was before the claim); the export stays Running for another worker.
 * @throws ExportRetryLaterError, WaitTurnError (to Bull); JobReleasedError when released; PostgreSQL errors of the claim.
 */
@Injectable()
export class ExportRunner {
  private readonly logger = new Logger(ExportRunner.name);

  constructor(
    private readonly checkpoints: ExportCheckpointsRepository,
    private readonly reader: EventReader,
    private readonly secretBox: SecretBox,
    @Inject(exportsConfig.KEY) private readonly exportsConfig: ExportsConfig,
    private readonly metrics: Metrics,
  ) {}

  async run(exportId: string, release: AbortSignal = new AbortController().signal): Promise<void> {
    const claim = await this.checkpoints.claim(exportId, this.exportsConfig.maxRunningPerProject);
    if (claim.kind === 'finished') return;
    if (claim.kind === 'wait') throw new WaitTurnError(`export ${exportId} waits for its project's turn`);
    const { record } = claim.export;
    let credentials: S3Credentials;
    try {
      if (!claim.export.credentials) throw new Error('credentials missing');
      credentials = JSON.parse(this.secretBox.decrypt(claim.export.credentials)) as S3Credentials;
    } catch {
      const error = 'The S3 credentials of this export can no longer be read (was SECRETS_KEY changed?).';
      this.logger.warn({
        msg: `export ${exportId} failed: ${error}`,
        event: 'export.failed',
        exportId,
        projectId: record.projectId,
        error,
      });
      await this.checkpoints.fail(exportId, error);
      this.metrics.exportEnded('failed', record.startedAt);
      return;
    }
    const elapsedMs = Date.now() - (record.startedAt ?? new Date()).getTime();
    if (
      record.attempts > this.exportsConfig.maxAttempts ||
      (this.exportsConfig.retryBudgetMs > 0 && elapsedMs > this.exportsConfig.retryBudgetMs)
    ) {
      const error = 'The export was interrupted too many times (its worker stopped, or S3 or PostgreSQL failed) and was not completed.';
      const fields = { event: 'export.failed', exportId, projectId: record.projectId, attempts: record.attempts, error };
      this.logger.warn({ msg: `export ${exportId} failed: ${error}`, ...fields });
      await this.end(record, credentials, error);
      return;
    }
    const ids = { exportId, projectId: record.projectId };
    this.logger.log({
      msg: `export ${exportId}: attempt ${record.attempts}${record.uploadId ? ' (continuing its upload)' : ''}`,
      event: 'export.started',
      ...ids,
      attempt: record.attempts,
      continuesUpload: record.uploadId !== null,
    });
    const started = Date.now();
    const watch = new AttemptWatch(
      this.exportsConfig.stallTimeoutMs,
      () => this.checkpoints.ownership(exportId, record.attempts),
      EXPORT_WATCH_ERRORS,
    );
    try {
      const result = await this.attempt(record, credentials, watch, release);
      if (result) {
        const durationMs = Date.now() - started;
        this.logger.log({
          msg: `export ${exportId} complete: ${result.events} events, ${result.bytes} bytes in ${durationMs} ms`,
          event: 'export.complete',
          ...ids,
          attempt: record.attempts,
          events: result.events,
          bytes: result.bytes,
          durationMs,
        });
      }
      this.metrics.exportEnded(result ? 'complete' : 'cancelled', record.startedAt);
    } catch (thrown) {
      const error = watch.reasonFor(thrown);
      if (error instanceof JobReleasedError) {
        // Not counted: the next attempt, on another worker, has this one's number (the fence: this one writes nothing more).
        const uncounted = await this.checkpoints.release(exportId, record.attempts).catch(() => false);
        this.logger.log({
          msg: `export ${exportId}: attempt ${record.attempts} stopped at its checkpoint for a shutdown${uncounted ? '' : ' (counted)'}`,
          event: 'export.released',
          ...ids,
          attempt: record.attempts,
        });
        throw error;
      }
      if (error instanceof ExportSupersededError) {
        this.logger.warn({
          msg: `export ${exportId}: attempt ${record.attempts} stopped, a later attempt took the export over`,
          event: 'export.superseded',
          ...ids,
          attempt: record.attempts,
        });
        return;
      }
      if (error instanceof ExportCancelledError) {
        this.logger.log({
          msg: `export ${exportId} cancelled; aborting its upload`,
          event: 'export.stopped',
          ...ids,
          attempt: record.attempts,
        });
        this.metrics.exportEnded('cancelled', record.startedAt);
        await this.closeUpload(record.id, credentials);
        return;
      }
      const message = describeExportError(error, record, credentials);
      const budgetLeft =
        record.attempts < this.exportsConfig.maxAttempts &&
        (this.exportsConfig.retryBudgetMs === 0 ||
          Date.now() - (record.startedAt ?? new Date()).getTime() < this.exportsConfig.retryBudgetMs);
      if (isTransientExportError(error) && budgetLeft) {
        const delay = retryDelayMs(record.attempts, this.exportsConfig.retryBaseDelayMs, this.exportsConfig.retryMaxDelayMs);
        this.logger.warn({
          msg: `export ${exportId}: attempt ${record.attempts} failed (${message}); retrying in ${delay} ms`,
          event: 'export.retrying',
          ...ids,
          attempt: record.attempts,
          delayMs: delay,
          errorCode: errorCodeOf(error),
          error: message,
        });
        throw new ExportRetryLaterError(message, delay);
      }
      const detail = error instanceof Error && !(error instanceof S3ServiceException) ? `\n${error.stack}` : '';
      this.logger.warn({
        msg: `export ${exportId} failed after ${record.attempts} attempt(s): ${message}${detail}`,
        event: 'export.failed',
        ...ids,
        attempts: record.attempts,
        errorCode: errorCodeOf(error),
        error: message,
      });
      await this.end(
        record,
        credentials,
        isTransientExportError(error) ? `${message} Gave up after ${record.attempts} attempts.` : message,
      );
    } finally {
      watch.stop();
    }
  }

  /** Why this attempt may no longer write: the export was cancelled, or a later attempt took it over. */
  private async lostOwnership(record: Export): Promise<Error> {
    return (await this.checkpoints.ownership(record.id, record.attempts)) === 'superseded'
      ? new ExportSupersededError('a later attempt took the export over')
      : new ExportCancelledError('The export was cancelled.');
  }

  /** Records the export Failed, then aborts its upload (the sweep retries the abort if S3 does not answer). */
  private async end(record: Export, credentials: S3Credentials, message: string): Promise<void> {
    await this.checkpoints.fail(record.id, message);
    this.metrics.exportEnded('failed', record.startedAt);
    await this.closeUpload(record.id, credentials);
  }

  /** Aborts the export's multipart upload, if it has one, and forgets it. */
  async closeUpload(exportId: string, credentials: S3Credentials | null): Promise<void> {
    const record = await this.checkpoints.openUpload(exportId);
    if (!record) return;
    if (record.uploadId && credentials) {
      const uploader = this.uploaderFor(record, credentials, new AbortController().signal);
      try {
        await uploader.abort(record.uploadId);
      } catch (error) {
        this.logger.warn(
          `export ${exportId}: could not abort upload (${describeExportError(error, record, credentials)}); the sweep will try again`,
        );
        return;
      } finally {
        uploader.destroy();
      }
    }
    await this.checkpoints.closeUpload(exportId);
  }

  private uploaderFor(record: Export, credentials: S3Credentials, signal: AbortSignal): S3MultipartUploader {
    return new S3MultipartUploader(
      {
        location: { endpoint: record.s3Endpoint, region: record.s3Region, bucket: record.s3Bucket, prefix: '' },
        key: record.s3Key,
        contentType: record.compression === ExportCompression.Gzip ? 'application/gzip' : 'application/x-ndjson',
      },
      credentials,
      this.exportsConfig.s3RequestTimeoutMs,
      signal,
    );
  }

  /** One attempt; null when the export was cancelled after its object was complete. @throws JobReleasedError when `release` stopped it. */
  private async attempt(
    record: Export,
    credentials: S3Credentials,
    watch: AttemptWatch,
    release: AbortSignal,
  ): Promise<{ events: number; bytes: number } | null> {
    const released = () => new JobReleasedError(`export ${record.id}: released for a shutdown`);
    if (release.aborted) throw released();
    const gzip = record.compression === ExportCompression.Gzip;
    const selection = deserializeSelection(record.selection);
    const scope: ExportScope = {
      projectId: record.projectId,
      collection: record.collection,
      selection,
      maxEventRowId: record.maxEventRowId,
    };
    const uploader = this.uploaderFor(record, credentials, watch.signal);
    const session = await this.reader.openForS3Export();
    watch.signal.addEventListener('abort', () => session.destroy());
    watch.tick();
    try {
      let rawTotal = record.rawTotalBytes;
      let partSize = record.partSizeBytes ?? this.exportsConfig.partSizeBytes;
      if (rawTotal === null) {
        rawTotal = (await session.measure(scope)).bytes;
        partSize = Math.max(this.exportsConfig.partSizeBytes, Math.ceil(rawTotal / MAX_PARTS));
        if (!(await this.checkpoints.setMeasured(record.id, record.attempts, rawTotal, gzip ? 0 : rawTotal, partSize))) {
          throw await this.lostOwnership(record);
        }
      }
      watch.tick();
      const finish = async (events: number, bytes: number, sha256: string, etag: string | undefined) => {
        await this.writeManifest(uploader, record, selection, { events, bytes, sha256, etag });
        return (await this.checkpoints.complete(record.id, bytes)) ? { events, bytes } : null;
      };
      if (rawTotal === 0) {
        if (!(await this.checkpoints.markCompleting(record.id, record.attempts))) throw await this.lostOwnership(record);
        const body = gzip ? gzipSync(Buffer.alloc(0), { level: GZIP_LEVEL }) : Buffer.alloc(0);
        const etag = await uploader.put(record.s3Key, body, gzip ? 'application/gzip' : 'application/x-ndjson');
        this.metrics.exportBytes.inc(body.length);
        return await finish(0, body.length, createHash('sha256').update(body).digest('hex'), etag);
      }

      let uploadId = record.uploadId;
      if (!uploadId) {
        if (record.attempts > 1) await this.abortUnrecordedUploads(uploader, record);
        uploadId = await uploader.create();
        if (!(await this.checkpoints.setUpload(record.id, record.attempts, uploadId))) {
          await uploader.abort(uploadId).catch(() => undefined);
          throw await this.lostOwnership(record);
        }
      }
      watch.tick();
      const acknowledged = await this.checkpoints.parts(record.id, uploadId);
      const plan = resumePlan(acknowledged);
      if (acknowledged.length > 0) {
        this.logger.log({
          msg: `export ${record.id}: resuming after ${acknowledged.length} acknowledged part(s), at part ${plan[0]?.firstPartNumber ?? '(complete)'}`,
          event: 'export.resumed',
          exportId: record.id,
          projectId: record.projectId,
          attempt: record.attempts,
          acknowledgedParts: acknowledged.length,
          atPart: plan[0]?.firstPartNumber ?? null,
        });
      }
      // The object's SHA-256 is taken on the way when this attempt writes it all; otherwise it is read back.
      const hash = acknowledged.length === 0 ? createHash('sha256') : null;
      // Uncompressed bytes of the parts before the segment being read: the gaps' parts are read before the rest.
      let rawBefore = acknowledged.reduce((sum, part) => sum + part.rawBytes, 0);
      for (const segment of plan) {
        if (release.aborted) throw released();
        const remaining = segment.lastPartNumber === null ? rawTotal - rawBefore : null;
        rawBefore += await this.uploadSegment(
          session,
          scope,
          uploader,
          uploadId,
          segment,
          remaining,
          partSize,
          gzip,
          hash,
          watch,
          record,
          release,
        );
      }
      await session.close();

      const parts = await this.checkpoints.parts(record.id, uploadId);
      parts.forEach((part, i) => {
        if (part.partNumber !== i + 1 || (i === parts.length - 1) !== part.isLast) {
          throw new Error(`export ${record.id}: the checkpoint's parts are not 1..${parts.length} ending with the last`);
        }
      });
      const expectedEtag = multipartEtag(parts.map((p) => p.md5));
      // From here the object is written whatever happens: a cancel now answers 409.
      if (!(await this.checkpoints.markCompleting(record.id, record.attempts))) throw await this.lostOwnership(record);
      let etag: string | undefined;
      try {
        etag = await uploader.complete(uploadId, parts);
      } catch (error) {
        // A worker that died after S3 completed the upload but before recording it: the object is there.
        const head = error instanceof S3ServiceException && error.name === 'NoSuchUpload' ? await uploader.head() : null;
        if (head?.etag !== expectedEtag) throw error;
        etag = head.etag;
      }
      watch.tick();
      if (etag && etag !== expectedEtag) {
        this.logger.warn(`export ${record.id}: S3 answered ETag ${etag}, expected ${expectedEtag} from the parts' MD5s`);
      }
      const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
      const events = parts.reduce((sum, p) => sum + p.events, 0);
      const sha256 = hash ? hash.digest('hex') : await uploader.sha256(() => watch.tick());
      return await finish(events, bytes, sha256, etag);
    } finally {
      session.destroy(); // no-op once closed
      uploader.destroy();
    }
  }

  /**
   * Aborts the uploads S3 holds open for the export's key although none is recorded: an earlier
   * attempt died after S3 created its upload and before the upload id was written, and nothing else
   * would ever abort it (docs/exports.md, "No orphaned uploads"). The key holds the export's id, so
   * these uploads are this export's. A transient failure (S3 not answering) fails the attempt, to be
   * retried; a final one (no s3:ListBucketMultipartUploads) is logged and the attempt goes on.
   */
  private async abortUnrecordedUploads(uploader: S3MultipartUploader, record: Export): Promise<void> {
    let stale: string[];
    try {
      stale = await uploader.openUploads();
    } catch (error) {
      if (isTransientExportError(error)) throw error;
      this.logger.warn(
        `export ${record.id}: could not list open uploads (${describeExportError(error, record, null)}); an earlier attempt's may be left`,
      );
      return;
    }
    for (const uploadId of stale) {
      await uploader.abort(uploadId).catch(() => undefined);
      this.logger.warn(`export ${record.id}: aborted upload ${uploadId}, which an earlier attempt created but never recorded`);
    }
  }

  /**
   * Streams one segment's rows and uploads its parts, EXPORT_QUEUE_SIZE at once, each recorded as S3
   * acknowledges it. Once `release` aborts, no further part is sent; those in flight are recorded.
   * The export's last part is known by the measured size (`remainingRawBytes`), so each part is sent
   * as soon as it is cut; if the events no longer add up to it (they changed between attempts),
   * the part the stream ended with is marked last once recorded.
   * @param remainingRawBytes uncompressed bytes from the segment's start to the export's end, for
   *   the export's final segment; null for a gap between acknowledged parts.
   * @returns the uncompressed bytes of the segment's parts.
   * @throws JobReleasedError when released before its last part was sent.
   */
  private async uploadSegment(
    session: EventReadSession,
    scope: ExportScope,
    uploader: S3MultipartUploader,
    uploadId: string,
    segment: Segment,
    remainingRawBytes: number | null,
    partSizeBytes: number,
    gzip: boolean,
    hash: Hash | null,
    watch: AttemptWatch,
    record: Export,
    release: AbortSignal,
  ): Promise<number> {
    const positionOf = async (eventId: string | null): Promise<ReadPosition | null> => {
      if (eventId === null) return null;
      const position = await session.positionOf(scope, eventId);
      if (!position) throw new ExportDataChangedError(`the event ${eventId.slice(0, 100)} a checkpoint ends at is gone`);
      return position;
    };
    const range = { after: await positionOf(segment.afterEventId), until: await positionOf(segment.untilEventId) };
    const inFlight = new Set<Promise<void>>();
    let failure = null as Error | null; // set by the upload callbacks, which control-flow narrowing does not see
    let released = false;
    let startAfter = segment.afterEventId;
    let lastNumber = segment.firstPartNumber - 1;
    let segmentRawBytes = 0;
    let sentLast = false;
    const send = (part: Part, isLast: boolean, startAfterEventId: string | null) => {
      const upload = (async () => {
        const etag = await uploader.uploadPart(uploadId, part.partNumber, part.body, part.md5);
        watch.tick();
        this.metrics.exportBytes.inc(part.body.length);
        const md5Hex = Buffer.from(part.md5, 'base64').toString('hex');
        if (/^"[0-9a-f]{32}"$/.test(etag) && etag !== `"${md5Hex}"`) {
          throw new Error(`S3 stored part ${part.partNumber} with ETag ${etag}, not the MD5 of what was sent`);
        }
        const recorded = await this.checkpoints.recordPart(record.id, record.attempts, uploadId, {
          partNumber: part.partNumber,
          startAfterEventId,
          endEventId: part.endEventId,
          events: part.events,
          rawBytes: part.rawBytes,
          bytes: part.body.length,
          md5: part.md5,
          etag,
          isLast,
        });
        if (!recorded) throw await this.lostOwnership(record);
        watch.tick();
      })().catch((error: unknown) => {
        const failed = error instanceof Error ? error : new Error(String(error));
        failure ??= failed;
        watch.abort(failed);
      });
      const tracked = upload.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };
    try {
      await pipeline(session.copyLines(scope, range), async (source: AsyncIterable<Buffer>) => {
        const ticking = (async function* () {
          for await (const chunk of source) {
            watch.tick();
            yield chunk;
          }
        })();
        for await (const part of ndjsonParts(ndjsonBlocks(ticking), { firstPartNumber: segment.firstPartNumber, partSizeBytes, gzip })) {
          if (release.aborted) {
            // This part was never sent: the next attempt reads it again after the last recorded part.
            released = true;
            break;
          }
          if (sentLast) throw new ExportDataChangedError(`events followed part ${lastNumber}, which completed the measured size`);
          hash?.update(part.body);
          lastNumber = part.partNumber;
          segmentRawBytes += part.rawBytes;
          sentLast = remainingRawBytes !== null && segmentRawBytes === remainingRawBytes;
          send(part, sentLast, startAfter);
          startAfter = part.endEventId;
          while (inFlight.size >= this.exportsConfig.queueSize) await Promise.race(inFlight);
          if (failure) throw failure;
        }
        await Promise.all(inFlight);
      });
    } catch (error) {
      // Leaving the stream early (released) ends the COPY before its end; that is no failure.
      if (failure || !released) throw failure ?? error;
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (released) throw new JobReleasedError(`export ${record.id}: released for a shutdown`);
    if (segment.lastPartNumber !== null && lastNumber !== segment.lastPartNumber) {
      throw new ExportDataChangedError(
        `parts ${segment.firstPartNumber}–${segment.lastPartNumber} came out as ${segment.firstPartNumber}–${lastNumber}`,
      );
    }
    if (segment.lastPartNumber === null && lastNumber < segment.firstPartNumber) {
      throw new ExportDataChangedError('no events were left to export after the checkpoint');
    }
    if (remainingRawBytes !== null && !sentLast) {
      this.logger.warn(
        `export ${record.id}: its events came to ${segmentRawBytes} bytes after part ${segment.firstPartNumber - 1}, ` +
          `not the ${remainingRawBytes} measured (they changed between attempts); part ${lastNumber} is its last`,
      );
      if (!(await this.checkpoints.markLastPart(record.id, record.attempts, uploadId, lastNumber))) throw await this.lostOwnership(record);
    }
    return segmentRawBytes;
  }

  /** `<prefix><id>.manifest.json`, written last: a consumer that finds it knows the object is whole (docs/exports.md, "The manifest"). */
  private async writeManifest(
    uploader: S3MultipartUploader,
    record: Export,
    selection: EventSelection,
    object: { events: number; bytes: number; sha256: string; etag: string | undefined },
  ): Promise<void> {
    const etag = object.etag ?? null;
    const manifest = {
      exportId: record.id,
      collection: record.collection,
      query: manifestQuery(selection),
      events: object.events,
      bytes: object.bytes,
      sha256: object.sha256,
      etag,
      created: record.createdAt.toISOString(),
      finished: new Date().toISOString(),
      files: [
        {
          key: record.s3Key,
          compression: record.compression,
          contentType: record.compression === ExportCompression.Gzip ? 'application/gzip' : 'application/x-ndjson',
          events: object.events,
          bytes: object.bytes,
          sha256: object.sha256,
          etag,
        },
      ],
    };
    await uploader.put(manifestKey(record.s3Key), Buffer.from(`${stringifyJson(manifest)}\n`, 'utf8'), 'application/json');
  }
}
