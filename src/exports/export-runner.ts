import { S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Transform, TransformCallback } from 'node:stream';
import type { PoolClient, QueryConfig } from 'pg';
import QueryStream from 'pg-query-stream';
import { DataSource } from 'typeorm';
import { SecretBox } from '../common/secret-box';
import { QUERY_ANSWER_MARGIN_MS } from '../database/data-source-options';
import { isQueryCanceled } from '../database/statement-timeout';
import { AppConfig } from '../config/app.config';
import { Export } from './entities/export.entity';
import { ExportScope, ExportsRepository } from './exports.repository';
import { deserializeSelection } from './frozen-selection';
import { createS3Client, S3Credentials } from './s3-client.factory';

/** The longest delay a Node timer takes (about 24.8 days): a read timeout that never ends an export. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Rows fetched from the cursor per round trip. */
const CURSOR_BATCH_ROWS = 2000;
/** Bytes gathered before a chunk is handed to the upload. */
const CHUNK_BYTES = 256 * 1024;

/** Turns single-column rows (`[jsonText]`) into NDJSON bytes, counting them. */
class NdjsonEncoder extends Transform {
  bytes = 0;
  private pending: string[] = [];
  private pendingLength = 0;

  constructor() {
    super({ writableObjectMode: true, readableObjectMode: false, writableHighWaterMark: CURSOR_BATCH_ROWS });
  }

  override _transform([line]: [string], _: BufferEncoding, done: TransformCallback): void {
    this.pending.push(line, '\n');
    this.pendingLength += line.length + 1;
    if (this.pendingLength >= CHUNK_BYTES) {
      this.flushPending();
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.flushPending();
    done();
  }

  private flushPending(): void {
    if (this.pending.length === 0) {
      return;
    }
    const chunk = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingLength = 0;
    this.bytes += chunk.length;
    this.push(chunk);
  }
}

/**
 * Replaces any occurrence of the credentials in a message (belt and braces: SDK messages do not
 * contain them). Values under 8 characters are left alone: they would blank out ordinary words.
 */
function redact(message: string, credentials: S3Credentials | null): string {
  let text = message;
  for (const secret of [credentials?.secretAccessKey, credentials?.accessKeyId]) {
    if (secret && secret.length >= 8) {
      text = text.split(secret).join('***');
    }
  }
  return text.slice(0, 1000);
}

/** A message for the monitor's `error` field, saying what went wrong in the user's terms. */
export function describeExportError(error: unknown, record: Export, credentials: S3Credentials | null): string {
  const target = `s3://${record.s3Bucket}/${record.s3Key}${record.s3Endpoint ? ` at ${record.s3Endpoint}` : ''}`;
  if (error instanceof S3ServiceException) {
    const hint = ['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied', 'Forbidden'].includes(error.name)
      ? ' Check s3AccessKeyId, s3SecretAccessKey and the bucket policy.'
      : error.name === 'NoSuchBucket'
        ? ' Check the bucket name in s3Path.'
        : '';
    const reason = error.message.replace(/\.?\s*$/, '.');
    return redact(`S3 rejected the upload to ${target}: ${error.name}: ${reason}${hint}`, credentials);
  }
  // The SDK may wrap a socket error so that only its message keeps the errno code.
  const network = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/.exec(
    `${(error as { code?: string }).code ?? ''} ${error instanceof Error ? error.message : String(error)}`,
  );
  if (network) {
    return redact(`Could not reach S3 to upload ${target}: ${network[1]}.`, credentials);
  }
  if (isQueryCanceled(error)) {
    return (
      'Reading the events took longer than the export statement timeout (EXPORT_STATEMENT_TIMEOUT_MS) allows. ' +
      'Narrow the timeframe or the filter and export in several parts.'
    );
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    return redact(`S3 did not answer in time while uploading ${target}.`, credentials);
  }
  return `The export failed while uploading ${target}. The failure was logged for the operator.`;
}

/**
 * Runs one S3 export end to end (Connect docs, "Exporting events": "Exporting to Amazon S3"):
 * 1. marks it Running (again, after a worker died: the upload restarts from the first byte);
 * 2. in one REPEATABLE READ snapshot, measures the export (events, exact NDJSON bytes → totalBytes)
 *    and streams the matching events through a cursor in (timestamp, id) order;
 * 3. uploads `<prefix><id>.json` with a lib-storage multipart upload, reporting progress from the
 *    parts S3 has acknowledged;
 * 4. marks it Complete (transferredBytes = totalBytes = object size) or Failed with a clear error.
 * Credentials are wiped from the record in both final states. Never throws for export failures:
 * they are recorded on the export.
 */
@Injectable()
export class ExportRunner {
  private readonly logger = new Logger(ExportRunner.name);

  constructor(
    private readonly exports: ExportsRepository,
    private readonly secretBox: SecretBox,
    private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async run(exportId: string): Promise<void> {
    const started = await this.exports.start(exportId);
    if (!started) {
      return;
    }
    const { record } = started;
    let credentials: S3Credentials | null = null;
    try {
      if (!started.credentials) {
        throw new Error('credentials missing');
      }
      credentials = JSON.parse(this.secretBox.decrypt(started.credentials)) as S3Credentials;
    } catch {
      await this.exports.fail(exportId, 'The S3 credentials of this export can no longer be read (was SECRETS_KEY changed?).');
      return;
    }
    try {
      const bytes = await this.upload(record, credentials);
      await this.exports.complete(exportId, bytes);
      this.logger.log(`export ${exportId} complete: ${record.eventCount} events, ${bytes} bytes`);
    } catch (error) {
      const message = describeExportError(error, record, credentials);
      this.logger.warn(`export ${exportId} failed: ${message}${error instanceof Error && !(error instanceof S3ServiceException) ? `\n${error.stack}` : ''}`);
      await this.exports.fail(exportId, message);
    }
  }

  private async upload(record: Export, credentials: S3Credentials): Promise<number> {
    const scope: ExportScope = {
      projectId: record.projectId,
      collection: record.collection,
      selection: deserializeSelection(record.selection),
      maxEventRowId: record.maxEventRowId,
    };
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const s3 = createS3Client(
      { endpoint: record.s3Endpoint, region: record.s3Region, bucket: record.s3Bucket, prefix: '' },
      credentials,
    );
    const encoder = new NdjsonEncoder();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The connection comes from the API's pool, whose statement_timeout (QUERY_STATEMENT_TIMEOUT_MS) would
      // cut the size pass over up to 1,000,000 events; this transaction gets the worker's own.
      await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(this.config.exportStatementTimeoutMs)]);
      // The pool's client-side query_timeout (data-source-options.ts) is sized for API statements;
      // the worker's reads wait as long as their own statement timeout allows.
      const readTimeout = this.config.exportStatementTimeoutMs ? this.config.exportStatementTimeoutMs + QUERY_ANSWER_MARGIN_MS : MAX_TIMER_MS;
      const size = this.exports.sizeStatement(scope);
      const { rows } = await client.query<{ bytes: string }>({ text: size.text, values: size.values, query_timeout: readTimeout } as QueryConfig);
      const totalBytes = Number(rows[0].bytes);
      await this.exports.setTotalBytes(record.id, totalBytes);

      const lines = this.exports.linesStatement(scope);
      const stream = Object.assign(new QueryStream(lines.text, lines.values, { batchSize: CURSOR_BATCH_ROWS, rowMode: 'array' }), {
        query_timeout: readTimeout, // pg reads it off the submitted query
      });
      const cursor = client.query(stream);
      cursor.on('error', (error) => encoder.destroy(error));
      cursor.pipe(encoder);

      const upload = new Upload({
        client: s3,
        params: { Bucket: record.s3Bucket, Key: record.s3Key, Body: encoder, ContentType: 'application/x-ndjson' },
        partSize: this.config.exportPartSizeBytes,
        queueSize: this.config.exportQueueSize,
        leavePartsOnError: false,
      });
      const progress = new ProgressReporter(this.exports, record.id, totalBytes, this.config.exportProgressIntervalMs);
      upload.on('httpUploadProgress', (p) => progress.report(p.loaded ?? 0));
      try {
        await upload.done();
      } finally {
        cursor.destroy();
        await progress.settle();
      }
      if (encoder.bytes !== totalBytes) {
        this.logger.warn(`export ${record.id}: measured ${totalBytes} bytes but wrote ${encoder.bytes}`);
      }
      return encoder.bytes;
    } finally {
      encoder.destroy();
      await client.query('ROLLBACK').catch(() => undefined);
      await runner.release();
      s3.destroy();
    }
  }
}

/** Writes progress at most every `intervalMs`, one write at a time, never past 99.9 % before Complete. */
class ProgressReporter {
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly exports: ExportsRepository,
    private readonly exportId: string,
    private readonly totalBytes: number,
    private readonly intervalMs: number,
  ) {}

  report(transferredBytes: number): void {
    const now = Date.now();
    if (now - this.lastWrite < this.intervalMs) {
      return;
    }
    this.lastWrite = now;
    const percent = this.totalBytes > 0 ? Math.min(99.9, (transferredBytes / this.totalBytes) * 100) : 0;
    this.writing = this.writing
      .then(() => this.exports.reportProgress(this.exportId, transferredBytes, percent))
      .catch(() => undefined);
  }

  settle(): Promise<void> {
    return this.writing;
  }
}
