import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  AttemptWatch,
  AttemptWatchErrors,
  JobReleasedError,
  isDependencyUnavailable,
  isQueryCanceled,
  MAX_BODY_DEPTH,
  nestsDeeperThan,
  parseJsonText,
  retryDelayMs,
  SecretBox,
  WaitTurnError,
} from '../common';
import { DatabaseConfig, databaseConfig, ExportsConfig, exportsConfig, importsConfig, ImportsConfig } from '../config';
import { errorCodeOf } from '../logging';
import { Metrics } from '../metrics';
import { DocumentEntry, documentEntry, documentOf, EventWriter, prepareEvent } from '../events';
import { createS3Client, isTransientS3Error, networkErrorCode, redactCredentials, S3Credentials, s3RejectionHint } from '../s3';
import { INVALID_JSON_MESSAGE, MAX_BATCH_BYTES, MAX_EVENT_ERRORS, MAX_LINE_BYTES } from './imports.constants';
import { EventError, ImportOwnershipLostError, ImportRecord, ImportsRepository } from './imports.repository';
import { LineBatch, ndjsonLineBatches } from './ndjson-lines';

/** The import was cancelled (DELETE /event-import/:id set it Failed): stop. */
export class ImportCancelledError extends Error {
  override name = 'ImportCancelledError';
}

/** A later attempt took the import over (this worker was thought dead): stop, touch nothing. */
export class ImportSupersededError extends Error {
  override name = 'ImportSupersededError';
}

/** An attempt read no byte and committed nothing for EXPORT_STALL_TIMEOUT_MS. */
export class ImportStalledError extends Error {
  override name = 'ImportStalledError';
}

/** The object is not NDJSON (a JSON array, a compression other than gzip): the import fails. */
export class ImportFormatError extends Error {
  override name = 'ImportFormatError';
}

/** The object's ETag differs from the one the import started with: it was replaced meanwhile. */
export class ImportObjectChangedError extends Error {
  override name = 'ImportObjectChangedError';
}

/**
 * Refuses a GetObject answer for another version of the object. S3 answers 412 to the `If-Match`
 * every read sends; some S3-compatible servers ignore the header, so the answer's ETag is compared too.
 * @throws ImportObjectChangedError
 */
function expectSameObject(responseEtag: string | undefined, etag: string | null): void {
  if (etag && responseEtag && responseEtag !== etag) throw new ImportObjectChangedError('the object changed');
}

/** Thrown to Bull: this attempt failed for a reason that may pass; run the job again after `delayMs`. */
export class ImportRetryLaterError extends Error {
  override name = 'ImportRetryLaterError';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

const IMPORT_WATCH_ERRORS: AttemptWatchErrors = {
  stalled: (ms) => new ImportStalledError(`no progress for ${ms} ms`),
  cancelled: () => new ImportCancelledError('The import was cancelled.'),
  superseded: () => new ImportSupersededError('a later attempt took the import over'),
};

/** Magic bytes of compressions an import cannot read, so that such an object fails with a clear error. */
const OTHER_COMPRESSIONS: Array<[string, number[]]> = [
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** Whether an attempt's error may pass on its own: S3 5xx and throttling, timeouts, lost connections, a stalled attempt. */
export function isTransientImportError(error: unknown): boolean {
  if (error instanceof ImportStalledError) return true;
  if (
    error instanceof ImportFormatError ||
    error instanceof ImportObjectChangedError ||
    error instanceof ImportCancelledError ||
    error instanceof ImportSupersededError
  )
    return false;
  if (error instanceof S3ServiceException) return isTransientS3Error(error);
  if (isQueryCanceled(error)) return false;
  return isTransientS3Error(error) || isDependencyUnavailable(error);
}

/** A message for the monitor's `error` field, saying what went wrong in the user's terms, without secrets. */
export function describeImportError(error: unknown, record: ImportRecord, credentials: S3Credentials | null): string {
  const target = `s3://${record.s3Bucket}/${record.s3Key}${record.s3Endpoint ? ` at ${record.s3Endpoint}` : ''}`;
  if (error instanceof ImportFormatError) return error.message;
  const changed = `The object ${target} changed while it was imported (its ETag is no longer the one the import started with). Import it again.`;
  if (error instanceof ImportObjectChangedError) return changed;
  if (error instanceof S3ServiceException) {
    if (error.name === 'PreconditionFailed' || error.$metadata?.httpStatusCode === 412) return changed;
    const status = error.$metadata?.httpStatusCode;
    if (status === 403 && (error.name === 'Unknown' || error.name === 'Forbidden')) {
      // HeadObject answers have no body, so S3 names no error code: only the status says "denied".
      return `S3 refused to read ${target}: access denied (HTTP 403). Check s3AccessKeyId, s3SecretAccessKey and the bucket policy.`;
    }
    if (error.name === 'NotFound' || error.name === 'NoSuchKey' || status === 404) {
      return redactCredentials(`S3 has no object ${target}. Check the bucket and the object key in s3Path.`, credentials);
    }
    const reason = (error.message || error.name).replace(/\.?\s*$/, '.');
    return redactCredentials(`S3 refused to read ${target}: ${error.name}: ${reason}${s3RejectionHint(error)}`, credentials);
  }
  const network = networkErrorCode(error);
  if (network) return redactCredentials(`Could not reach S3 to read ${target}: ${network}.`, credentials);
  if (isQueryCanceled(error)) {
    return 'Storing a batch of events took longer than the statement timeout (EXPORT_STATEMENT_TIMEOUT_MS) allows.';
  }
  if (error instanceof ImportStalledError) {
    return `The import made no progress for ${error.message.replace(/^no progress for /, '')} (S3 or PostgreSQL stopped answering) while reading ${target}.`;
  }
  if (isDependencyUnavailable(error)) return 'Lost the connection to PostgreSQL while storing the events.';
  if (error instanceof Error && error.name === 'TimeoutError')
    return redactCredentials(`S3 did not answer in time while reading ${target}.`, credentials);
  const zlibCode = (error as { code?: unknown } | null)?.code;
  if ((error instanceof Error && error.name === 'Z_DATA_ERROR') || zlibCode === 'Z_DATA_ERROR') {
    return `The object ${target} starts like gzip but is not valid gzip data.`;
  }
  if (zlibCode === 'Z_BUF_ERROR') {
    return (
      `The object ${target} is gzip-compressed but its compressed data ends early (the file is truncated); ` +
      'the events counted in importedEvents are stored.'
    );
  }
  return `The import failed while reading ${target}. The failure was logged for the operator.`;
}

/**
 * A batch ready to commit: its valid events as the insert's document (each event is rendered as soon
 * as it is checked, and neither the parsed events nor the lines' text are kept while the batch waits
 * and commits), its errors and where the next batch starts.
 */
interface PreparedBatch {
  /** eventsDocument of the batch's valid events; null when it has none. */
  document: string | null;
  validEvents: number;
  errors: EventError[];
  errorCount: number;
  endOffset: number;
  endIndex: number;
  readBytes: number;
}

/**
 * Runs one attempt of an import (docs/imports.md): streams the object from S3 (`GetObject`, never
 * the whole object in memory; gzip by its magic bytes), splits it into lines, checks each line as
 * a push checks an event (`prepareEvent`) and commits each batch of lines in one transaction with
 * the import's position (ImportsRepository.commitBatch), preparing the next batch while the
 * previous one commits. A later attempt continues after the last committed line: with a ranged
 * `GetObject` (`Range: bytes=<position>-`, `If-Match` the object's ETag) for plain NDJSON, or by
 * reading a gzip object from its start and skipping the decompressed bytes already committed.
 *
 * Failures: transient ones (ImportRetryLaterError) go back to Bull within EXPORT_MAX_ATTEMPTS and
 * EXPORT_RETRY_BUDGET_MS; final ones, or a spent budget, end the import Failed with a clear,
 * secret-free `error`. Credentials are wiped when the import ends.
 * When `release` aborts (the worker shuts down, docs/shutdown.md), the attempt stops once the batch
 * being committed is committed, and is not counted (attempts back to what it was before the claim);
 * the import stays Running for another worker, which continues after that batch.
 * A job whose project has no turn (IMPORT_MAX_RUNNING_PER_PROJECT) throws WaitTurnError: Bull runs it
 * again after 0.5–1 s, and no attempt is counted.
 * @throws ImportRetryLaterError, WaitTurnError (to Bull); JobReleasedError when released; PostgreSQL errors of the claim.
 */
@Injectable()
export class ImportRunner {
  private readonly logger = new Logger(ImportRunner.name);

  constructor(
    private readonly imports: ImportsRepository,
    private readonly events: EventWriter,
    private readonly secretBox: SecretBox,
    @Inject(importsConfig.KEY) private readonly importsConfig: ImportsConfig,
    @Inject(exportsConfig.KEY) private readonly exportsConfig: ExportsConfig,
    @Inject(databaseConfig.KEY) private readonly databaseConfig: DatabaseConfig,
    private readonly metrics: Metrics,
  ) {}

  async run(importId: string, release: AbortSignal = new AbortController().signal): Promise<void> {
    const claim = await this.imports.claim(importId, this.importsConfig.maxRunningPerProject);
    if (!claim) return;
    if (claim === 'wait') {
      this.logger.debug({ msg: `import ${importId} waits for its project's turn`, event: 'import.waiting', importId });
      throw new WaitTurnError(`import ${importId} waits for its project's turn`);
    }
    const { record } = claim;
    let credentials: S3Credentials;
    try {
      if (!claim.credentials) throw new Error('credentials missing');
      credentials = JSON.parse(this.secretBox.decrypt(claim.credentials)) as S3Credentials;
    } catch {
      const error = 'The S3 credentials of this import can no longer be read (was SECRETS_KEY changed?).';
      this.logger.warn({
        msg: `import ${importId} failed: ${error}`,
        event: 'import.failed',
        importId,
        projectId: record.projectId,
        error,
      });
      await this.imports.fail(importId, error);
      this.metrics.importEnded('failed', record.startedAt);
      return;
    }
    const elapsed = () => Date.now() - (record.startedAt ?? new Date()).getTime();
    const budget = this.exportsConfig.retryBudgetMs;
    if (record.attempts > this.exportsConfig.maxAttempts || (budget > 0 && elapsed() > budget)) {
      const error = 'The import was interrupted too many times (its worker stopped, or S3 or PostgreSQL failed) and was not completed.';
      const fields = { event: 'import.failed', importId, projectId: record.projectId, attempts: record.attempts, error };
      this.logger.warn({ msg: `import ${importId} failed: ${error}`, ...fields });
      await this.imports.fail(importId, error);
      this.metrics.importEnded('failed', record.startedAt);
      return;
    }
    const ids = { importId, projectId: record.projectId };
    this.logger.log({ msg: `import ${importId}: attempt ${record.attempts}`, event: 'import.started', ...ids, attempt: record.attempts });
    if (record.lineIndex > 0) {
      this.logger.log({
        msg: `import ${importId}: resuming at line ${record.lineIndex} (byte ${record.positionBytes} of the object${record.gzip ? ', decompressed' : ''})`,
        event: 'import.resumed',
        ...ids,
        attempt: record.attempts,
        atLine: record.lineIndex,
        atByte: record.positionBytes,
      });
    }
    const started = Date.now();
    const watch = new AttemptWatch(
      this.exportsConfig.stallTimeoutMs,
      () => this.imports.ownership(importId, record.attempts),
      IMPORT_WATCH_ERRORS,
    );
    try {
      const done = await this.attempt(record, credentials, watch, release);
      const durationMs = Date.now() - started;
      this.logger.log({
        msg: `import ${importId} complete: ${done.imported} events stored, ${done.duplicates} duplicates, ${done.errors} event errors in ${durationMs} ms`,
        event: 'import.complete',
        ...ids,
        attempt: record.attempts,
        events: done.imported,
        duplicates: done.duplicates,
        eventErrors: done.errors,
        bytes: done.bytes,
        durationMs,
      });
      this.metrics.importEnded('complete', record.startedAt);
    } catch (thrown) {
      let error = watch.reasonFor(thrown);
      if (error instanceof JobReleasedError) {
        // Not counted: the next attempt, on another worker, has this one's number (the fence: this one writes nothing more).
        const uncounted = await this.imports.release(importId, record.attempts).catch(() => false);
        this.logger.log({
          msg: `import ${importId}: attempt ${record.attempts} stopped after its last commit for a shutdown${uncounted ? '' : ' (counted)'}`,
          event: 'import.released',
          ...ids,
          attempt: record.attempts,
        });
        throw error;
      }
      if (error instanceof ImportOwnershipLostError) {
        error =
          (await this.imports.ownership(importId, record.attempts)) === 'superseded'
            ? IMPORT_WATCH_ERRORS.superseded()
            : IMPORT_WATCH_ERRORS.cancelled();
      }
      if (error instanceof ImportSupersededError) {
        this.logger.warn({
          msg: `import ${importId}: attempt ${record.attempts} stopped, a later attempt took the import over`,
          event: 'import.superseded',
          ...ids,
          attempt: record.attempts,
        });
        return;
      }
      if (error instanceof ImportCancelledError) {
        this.logger.log({
          msg: `import ${importId} cancelled; its attempt stopped`,
          event: 'import.stopped',
          ...ids,
          attempt: record.attempts,
        });
        this.metrics.importEnded('cancelled', record.startedAt);
        return;
      }
      const message = describeImportError(error, record, credentials);
      const budgetLeft = record.attempts < this.exportsConfig.maxAttempts && (budget === 0 || elapsed() < budget);
      if (isTransientImportError(error) && budgetLeft) {
        const delay = retryDelayMs(record.attempts, this.exportsConfig.retryBaseDelayMs, this.exportsConfig.retryMaxDelayMs);
        this.logger.warn({
          msg: `import ${importId}: attempt ${record.attempts} failed (${message}); retrying in ${delay} ms`,
          event: 'import.retrying',
          ...ids,
          attempt: record.attempts,
          delayMs: delay,
          errorCode: errorCodeOf(error),
          error: message,
        });
        throw new ImportRetryLaterError(message, delay);
      }
      const detail =
        error instanceof Error && !(error instanceof S3ServiceException) && !(error instanceof ImportFormatError) ? `\n${error.stack}` : '';
      this.logger.warn({
        msg: `import ${importId} failed after ${record.attempts} attempt(s): ${message}${detail}`,
        event: 'import.failed',
        ...ids,
        attempts: record.attempts,
        errorCode: errorCodeOf(error),
        error: message,
      });
      await this.imports.fail(importId, isTransientImportError(error) ? `${message} Gave up after ${record.attempts} attempts.` : message);
      this.metrics.importEnded('failed', record.startedAt);
    } finally {
      watch.stop();
    }
  }

  private async attempt(
    record: ImportRecord,
    credentials: S3Credentials,
    watch: AttemptWatch,
    release: AbortSignal,
  ): Promise<{ imported: number; duplicates: number; errors: number; bytes: number }> {
    if (release.aborted) throw new JobReleasedError(`import ${record.id}: released for a shutdown`);
    const client = createS3Client(
      { endpoint: record.s3Endpoint, region: record.s3Region, bucket: record.s3Bucket, prefix: '' },
      credentials,
      this.exportsConfig.s3RequestTimeoutMs,
    );
    const totals = { imported: record.importedEvents, duplicates: record.duplicateEvents, errors: record.eventErrorCount };
    try {
      let { objectBytes, objectEtag, gzip } = record;
      if (objectBytes === null || gzip === null) {
        const head = await client.send(new HeadObjectCommand({ Bucket: record.s3Bucket, Key: record.s3Key }), {
          abortSignal: watch.signal,
        });
        watch.tick();
        objectBytes = head.ContentLength ?? 0;
        objectEtag = head.ETag ?? null;
        const first = objectBytes === 0 ? Buffer.alloc(0) : await this.read(client, record, objectEtag, 'bytes=0-5', watch);
        for (const [name, magic] of OTHER_COMPRESSIONS) {
          if (magic.every((byte, i) => first[i] === byte)) {
            throw new ImportFormatError(
              `The object s3://${record.s3Bucket}/${record.s3Key} is ${name}-compressed; imports read NDJSON, plain or gzip-compressed.`,
            );
          }
        }
        gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
        if (!(await this.imports.setObject(record.id, record.attempts, objectBytes, objectEtag, gzip))) {
          throw new ImportOwnershipLostError('lost');
        }
      }
      if (objectBytes > 0 && (gzip || record.positionBytes < objectBytes)) {
        await this.importLines(client, { ...record, objectBytes, objectEtag, gzip }, watch, totals, release);
      }
      if (!(await this.imports.complete(record.id, record.attempts))) throw new ImportOwnershipLostError('lost');
      return { ...totals, bytes: objectBytes };
    } finally {
      client.destroy();
    }
  }

  /** A small ranged read (the object's first bytes), as one buffer. */
  private async read(client: S3Client, record: ImportRecord, etag: string | null, range: string, watch: AttemptWatch): Promise<Buffer> {
    const response = await client.send(
      new GetObjectCommand({ Bucket: record.s3Bucket, Key: record.s3Key, Range: range, IfMatch: etag ?? undefined }),
      { abortSignal: watch.signal },
    );
    watch.tick();
    expectSameObject(response.ETag, etag);
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  private async importLines(
    client: S3Client,
    record: ImportRecord & { objectBytes: number; gzip: boolean },
    watch: AttemptWatch,
    totals: { imported: number; duplicates: number; errors: number },
    release: AbortSignal,
  ): Promise<void> {
    const from = record.gzip ? 0 : record.positionBytes;
    const response = await client.send(
      new GetObjectCommand({
        Bucket: record.s3Bucket,
        Key: record.s3Key,
        Range: from > 0 ? `bytes=${from}-` : undefined,
        IfMatch: record.objectEtag ?? undefined,
      }),
      { abortSignal: watch.signal },
    );
    watch.tick();
    const body = response.Body as Readable;
    try {
      expectSameObject(response.ETag, record.objectEtag);
    } catch (error) {
      body.destroy();
      throw error;
    }
    const onAbort = () => body.destroy(watch.signal.reason as Error);
    watch.signal.addEventListener('abort', onAbort);
    let objectRead = from;
    const bytesRead = this.metrics.importBytes;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of body) {
        objectRead += (chunk as Buffer).length;
        bytesRead.inc((chunk as Buffer).length);
        watch.tick();
        yield chunk as Buffer;
      }
    }
    let text: AsyncIterable<Buffer> = counted();
    if (record.gzip) {
      const gunzip = pipeline(Readable.from(counted()), createGunzip(), () => undefined);
      text = skipBytes(gunzip, record.positionBytes);
    }
    let listed = record.eventErrors.length;
    let sawContent = record.importedEvents + record.duplicateEvents + record.eventErrorCount > 0;
    let pending: Promise<void> | null = null;
    try {
      const batches = ndjsonLineBatches(text, {
        startOffset: record.positionBytes,
        startIndex: record.lineIndex,
        maxLineBytes: MAX_LINE_BYTES,
        maxLines: this.importsConfig.batchLines,
        maxBatchBytes: MAX_BATCH_BYTES,
      });
      // A batch is prepared in a function of its own, so that only its document (not the lines'
      // text, nor the parsed events) stays reachable while it waits for the previous commit and commits.
      const prepare = (batch: LineBatch): PreparedBatch => {
        const now = new Date();
        const entries: DocumentEntry[] = [];
        const prepared: PreparedBatch = {
          document: null,
          validEvents: 0,
          errors: [],
          errorCount: 0,
          endOffset: batch.endOffset,
          endIndex: batch.endIndex,
          readBytes: record.gzip ? objectRead : batch.endOffset,
        };
        const addError = (index: number, error: string) => {
          prepared.errorCount += 1;
          if (listed < MAX_EVENT_ERRORS) {
            prepared.errors.push({ index, error });
            listed += 1;
          }
        };
        for (const line of batch.lines) {
          // A too-long line is judged by its first bytes: a one-line JSON array is usually far over 1 MB.
          const trimmed = (line.text ?? line.head ?? '').trim();
          if (trimmed === '' && line.text !== null) continue;
          if (!sawContent && trimmed !== '') {
            sawContent = true;
            if (trimmed.startsWith('[')) {
              throw new ImportFormatError(
                'The object holds a JSON array; an import reads NDJSON: one JSON event per line, e.g. {"product": "12 red roses", "quantity": 5}.',
              );
            }
          }
          if (line.text === null) {
            addError(line.index, `The line is longer than ${MAX_LINE_BYTES} bytes (1 MB), the most one event may take.`);
            continue;
          }
          if (nestsDeeperThan(trimmed, MAX_BODY_DEPTH)) {
            addError(line.index, `The event is nested deeper than ${MAX_BODY_DEPTH} levels.`);
            continue;
          }
          let value: unknown;
          try {
            value = parseJsonText(trimmed);
          } catch {
            addError(line.index, INVALID_JSON_MESSAGE);
            continue;
          }
          const event = prepareEvent(record.collection, value, now);
          if (event.row) entries.push(documentEntry(event.row));
          else addError(line.index, event.error);
        }
        prepared.validEvents = entries.length;
        if (entries.length > 0) prepared.document = documentOf(entries);
        return prepared;
      };
      const iterator = batches[Symbol.asyncIterator]();
      let released = false;
      const prepareNext = async (): Promise<PreparedBatch | null> => {
        const next = await iterator.next();
        return next.done ? null : prepare(next.value);
      };
      try {
        for (let prepared = await prepareNext(); prepared !== null; prepared = await prepareNext()) {
          if (pending) await pending;
          // Released: the batch just prepared is not committed; the next attempt reads it again after the last commit.
          if (release.aborted) {
            released = true;
            break;
          }
          const commit = this.commit(record, prepared, totals).then(() => watch.tick());
          commit.catch(() => undefined); // awaited before the next commit, or below
          pending = commit;
        }
      } finally {
        await iterator.return?.(undefined).catch(() => undefined);
      }
      if (pending) await pending;
      if (released) {
        throw new JobReleasedError(`import ${record.id}: released for a shutdown`);
      }
    } finally {
      watch.signal.removeEventListener('abort', onAbort);
      body.destroy();
    }
  }

  private async commit(
    record: ImportRecord,
    prepared: PreparedBatch,
    totals: { imported: number; duplicates: number; errors: number },
  ): Promise<void> {
    const stored = await this.imports.commitBatch(
      record.id,
      record.attempts,
      this.databaseConfig.exportStatementTimeoutMs,
      {
        positionBytes: prepared.endOffset,
        readBytes: Math.min(prepared.readBytes, record.objectBytes ?? prepared.readBytes),
        lineIndex: prepared.endIndex,
        validEvents: prepared.validEvents,
        eventErrors: prepared.errors,
        eventErrorCount: prepared.errorCount,
      },
      (manager) =>
        prepared.document === null ? Promise.resolve(0) : this.events.insertDocument(record.projectId, prepared.document, manager),
    );
    totals.imported += stored;
    totals.duplicates += prepared.validEvents - stored;
    totals.errors += prepared.errorCount;
  }
}

/** The stream without its first `count` bytes (a resumed gzip import skips the text already committed). */
async function* skipBytes(source: AsyncIterable<Buffer>, count: number): AsyncGenerator<Buffer> {
  let left = count;
  for await (const chunk of source) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}
