import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createS3Client, S3Credentials } from '../s3';
import type { S3Location } from '../s3';

/** Where one export's object goes. */
export interface S3Target {
  location: S3Location;
  key: string;
  contentType: string;
}

/** A part S3 acknowledged. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/** An S3 request that did not answer within its time (EXPORT_S3_REQUEST_TIMEOUT_MS). */
export class S3RequestTimeoutError extends Error {
  override name = 'S3RequestTimeoutError';
}

/** S3's multipart ETag of an object made of parts with these (base64) MD5s: `"<md5 of the binary MD5s>-<count>"`. */
export function multipartEtag(partMd5s: string[]): string {
  const hash = createHash('md5');
  for (const md5 of partMd5s) hash.update(Buffer.from(md5, 'base64'));
  return `"${hash.digest('hex')}-${partMd5s.length}"`;
}

/**
 * The export's side of S3: one multipart upload driven with client-s3's own commands (lib-storage's
 * `Upload` cannot continue an upload another process started). Every request waits at most
 * `requestTimeoutMs` and is also cut by `signal` (a cancelled or stalled export), so no request
 * can hang an export; the SDK's own retries (3 attempts) stay underneath.
 */
export class S3MultipartUploader {
  private readonly client: S3Client;

  constructor(
    private readonly target: S3Target,
    credentials: S3Credentials,
    private readonly requestTimeoutMs: number,
    private readonly signal: AbortSignal,
  ) {
    this.client = createS3Client(target.location, credentials, requestTimeoutMs);
  }

  private options(): { abortSignal: AbortSignal } {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    return { abortSignal: AbortSignal.any([this.signal, timeout]) };
  }

  private async send<T>(operation: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    const options = this.options();
    try {
      return await operation(options);
    } catch (error) {
      if (options.abortSignal.aborted && !this.signal.aborted) {
        throw new S3RequestTimeoutError(`S3 did not answer within ${this.requestTimeoutMs} ms`);
      }
      if (this.signal.aborted && this.signal.reason instanceof Error) throw this.signal.reason;
      throw error;
    }
  }

  /** Starts a multipart upload; returns its UploadId. */
  async create(): Promise<string> {
    const { Bucket, Key } = this.object();
    const answer = await this.send((o) =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: this.target.contentType }), o),
    );
    if (!answer.UploadId) throw new Error('S3 answered CreateMultipartUpload without an UploadId');
    return answer.UploadId;
  }

  /**
   * The ids of the multipart uploads S3 holds open for this object's key (all pages), oldest first
   * as S3 lists them. Needs s3:ListBucketMultipartUploads on the bucket.
   */
  async openUploads(): Promise<string[]> {
    const { Bucket, Key } = this.object();
    const ids: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.send((o) =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key, KeyMarker, UploadIdMarker }), o),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === Key && upload.UploadId) ids.push(upload.UploadId);
      }
      if (!page.IsTruncated) return ids;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /**
   * Uploads one part with its `Content-MD5`, which S3 checks against the body (400 BadDigest).
   * @returns the part's ETag.
   */
  async uploadPart(uploadId: string, partNumber: number, body: Buffer, md5: string): Promise<string> {
    const { Bucket, Key } = this.object();
    const answer = await this.send((o) =>
      this.client.send(
        new UploadPartCommand({
          Bucket,
          Key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentMD5: md5,
          ContentLength: body.length,
        }),
        o,
      ),
    );
    if (!answer.ETag) throw new Error(`S3 answered part ${partNumber} without an ETag`);
    return answer.ETag;
  }

  /** Completes the upload from its parts (in part-number order). @returns the object's ETag. */
  async complete(uploadId: string, parts: UploadedPart[]): Promise<string | undefined> {
    const { Bucket, Key } = this.object();
    const answer = await this.send((o) =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
        o,
      ),
    );
    return answer.ETag;
  }

  /** Aborts the upload (S3 discards its parts); an upload S3 no longer knows counts as aborted. */
  async abort(uploadId: string): Promise<void> {
    const { Bucket, Key } = this.object();
    try {
      await this.send((o) => this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }), o));
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'NoSuchUpload' || error.$metadata?.httpStatusCode === 404)) return;
      throw error;
    }
  }

  /**
   * Writes a whole small object (an empty export, the manifest) with lib-storage's `Upload` (one
   * PutObject for a body this size) and its Content-MD5. @returns its ETag.
   */
  async put(key: string, body: Buffer, contentType: string): Promise<string | undefined> {
    const md5 = createHash('md5').update(body).digest('base64');
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.requestTimeoutMs);
    const onAbort = () => controller.abort();
    this.signal.addEventListener('abort', onAbort);
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.target.location.bucket, Key: key, Body: body, ContentType: contentType, ContentMD5: md5 },
        abortController: controller,
      });
      const answer = await upload.done();
      return answer.ETag;
    } catch (error) {
      if (controller.signal.aborted && !this.signal.aborted)
        throw new S3RequestTimeoutError(`S3 did not answer within ${this.requestTimeoutMs} ms`);
      if (this.signal.aborted && this.signal.reason instanceof Error) throw this.signal.reason;
      throw error;
    } finally {
      clearTimeout(timeout);
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The object's size and ETag, or null when there is none. */
  async head(): Promise<{ bytes: number; etag: string | undefined } | null> {
    const { Bucket, Key } = this.object();
    try {
      const answer = await this.send((o) => this.client.send(new HeadObjectCommand({ Bucket, Key }), o));
      return { bytes: answer.ContentLength ?? 0, etag: answer.ETag };
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'NotFound' || error.$metadata?.httpStatusCode === 404)) return null;
      throw error;
    }
  }

  /** SHA-256 (hex) of the object as S3 stores it, read back as a stream (used after a resumed export). */
  async sha256(onChunk: () => void = () => undefined): Promise<string> {
    const { Bucket, Key } = this.object();
    // No per-request timeout here: reading back up to a few GB takes as long as it takes; `signal` still cuts it.
    const answer = await this.client.send(new GetObjectCommand({ Bucket, Key }), { abortSignal: this.signal });
    const hash = createHash('sha256');
    for await (const chunk of answer.Body as Readable) {
      hash.update(chunk as Buffer);
      onChunk();
    }
    return hash.digest('hex');
  }

  destroy(): void {
    this.client.destroy();
  }

  private object(): { Bucket: string; Key: string } {
    return { Bucket: this.target.location.bucket, Key: this.target.key };
  }
}
