/**
 * An S3-compatible server for tests and demos that really checks credentials.
 *
 * Stock s3rver 3.7.1 accepts any SigV4 request whose access key id it knows, whatever secret
 * signed it (its lib/middleware/authentication.js leaves the V4 calculation unimplemented). So
 * this module puts a small verifying HTTP proxy in front of an in-process s3rver:
 *
 *   client ──SigV4──▶ proxy (public port) ──verified request──▶ s3rver (private loopback port)
 *
 * The proxy recomputes the SigV4 signature (Authorization header or presigned query) with
 * node:crypto from the configured secret and answers S3's own XML errors (403
 * SignatureDoesNotMatch, 403 InvalidAccessKeyId, ...) before anything reaches s3rver. It also
 * checks hex payload hashes and decodes `aws-chunked` bodies (verifying chunk signatures), which
 * s3rver would otherwise store with the chunk framing still in them.
 *
 * It also fills in the multipart behaviour s3rver 3.7.1 lacks or gets wrong, so export tests can
 * prove resume, retries and cleanup against S3's real rules:
 * - ListMultipartUploads (s3rver: 501 NotImplemented), AbortMultipartUpload (s3rver: 405) and
 *   ListParts (s3rver: 405) are answered by the proxy from s3rver's own upload directories;
 * - UploadPart / CompleteMultipartUpload for an unknown, aborted or completed upload answer 404
 *   NoSuchUpload (s3rver: UploadPart silently recreates the upload, Complete answers 500);
 * - CompleteMultipartUpload checks the part list as S3 does (InvalidPart, InvalidPartOrder,
 *   EntityTooSmall; s3rver checks none) and gives the object S3's multipart ETag
 *   `"<md5 of the concatenated binary part MD5s>-<part count>"` (s3rver: the MD5 of the whole object);
 * - a `Content-MD5` that does not match the body answers 400 BadDigest (s3rver ignores it);
 * - every request is recorded (operation, upload id, part number, status), and tests can inject
 *   faults at run time: S3 error statuses, connection resets mid-body, stalls and delays.
 *
 * Free of jest imports on purpose: demo scripts compiled with tsc reuse it.
 */
import { CreateBucketCommand, GetObjectCommand, paginateListObjectsV2, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import S3rver from 's3rver';
import { startedServers, type StartedServer } from './started-s3-servers';

// ───────────────────────────── public API ─────────────────────────────

export interface StartS3ServerOptions {
  /** Public (proxy) port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Where s3rver keeps buckets. Default: a fresh temp directory, removed by close(). A directory
   * you pass is left in place. */
  directory?: string;
  /** Buckets created before the server starts listening. */
  buckets?: string[];
  /** The one key pair the server accepts. Default S3RVER / S3RVER (s3rver's built-in pair). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** If set, a signature scoped to another region is refused with 400
   * AuthorizationHeaderMalformed, as real S3 does. Default: any region is accepted. */
  region?: string;
  /** Let unsigned requests through (s3rver then serves them anonymously). Default false: they get
   * 403 AccessDenied, as a private bucket on real S3 would answer. */
  allowAnonymous?: boolean;
  /** Silence s3rver's request log. Default true. */
  silent?: boolean;
  /** Smallest size (bytes) CompleteMultipartUpload accepts for every part but the last, as S3's
   * 400 EntityTooSmall. Default 5 MiB (S3's limit); 0 turns the check off. */
  minPartSizeBytes?: number;
}

/** S3 operations the proxy tells apart (from method, path, query and x-amz-copy-source). */
export type S3Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'ListObjects'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'Other';

/** What the proxy made of one request. `key` and `bucket` are decoded; absent when not in the path. */
export interface S3RequestInfo {
  operation: S3Operation;
  bucket?: string;
  key?: string;
  uploadId?: string;
  /** The `partNumber` query parameter (UploadPart, UploadPartCopy), when it is an integer. */
  partNumber?: number;
}

/** One request the proxy received, in arrival order. */
export interface S3RequestRecord extends S3RequestInfo {
  method: string;
  /** The status answered; `null` while unanswered, or when no answer was sent (connection reset,
   * stall, client hung up). */
  status: number | null;
  /** The kind of fault injected into this request, if any. */
  fault?: S3FaultKind;
}

/** Every UploadPart request for one part of one upload (`requests` counts attempts, failures included). */
export interface UploadPartCount {
  uploadId: string;
  key: string;
  partNumber: number;
  /** UploadPart requests received for this part, whatever became of them. */
  requests: number;
  /** How many of them were answered 2xx. */
  succeeded: number;
  /** Each request's answer in arrival order (`null`: none, e.g. reset or stalled). */
  statuses: Array<number | null>;
}

/**
 * A fault to inject:
 * - `{ status, code, message? }`: the request body is read in full, then answered with S3's XML
 *   error `<Error><Code>code</Code>…` and that status (e.g. 500 InternalError, 503 SlowDown).
 *   Nothing reaches s3rver.
 * - `{ reset: true, afterBytes? }`: `afterBytes` of the body (default: half its Content-Length;
 *   0 = none) are read, then the TCP connection is reset (RST); no answer is sent.
 * - `{ stall: true }`: the body is read and discarded and the request is never answered; the
 *   connection stays open until the client gives up or the server closes.
 * - `{ delayMs }`: nothing is read for `delayMs` ms, then the request is handled normally.
 */
export type S3Fault =
  { status: number; code: string; message?: string } | { reset: true; afterBytes?: number } | { stall: true } | { delayMs: number };

export type S3FaultKind = 'status' | 'reset' | 'stall' | 'delay';

/**
 * Which requests get a fault. A request matches when every given field matches. Rules are tried in
 * order; each matching rule counts the request, and the first rule that fires injects its fault
 * (later rules do not see that request).
 */
export interface S3FaultRule {
  /** The operation(s) to hit, or `'*'` for any (requests failing signature checks are never hit). */
  operation: S3Operation | S3Operation[] | '*';
  bucket?: string;
  key?: string;
  uploadId?: string;
  /** Only this part number (UploadPart). */
  partNumber?: number;
  /** Fires on the every-th matching request: 1 (default) = each, 10 = the 10th, 20th, … */
  every?: number;
  /** Fires at most this many times, then the rule is spent. Default: no limit. */
  times?: number;
  fault: S3Fault;
}

/** One fault that was injected. */
export interface InjectedS3Fault extends S3RequestInfo {
  /** Index of the rule in the list last given to `injectFaults`. */
  rule: number;
  kind: S3FaultKind;
  at: Date;
}

/** A multipart upload that was created and neither completed nor aborted. */
export interface IncompleteUpload {
  bucket: string;
  key: string;
  uploadId: string;
  /** When CreateMultipartUpload stored it (UTC, ms). */
  initiated: Date;
  /** Parts stored so far. */
  parts: number;
}

export interface TestS3Server {
  /** Base URL for S3 clients, e.g. `http://127.0.0.1:41234` (path-style only). */
  endpoint: string;
  port: number;
  /** The region the helper client signs for (any region is accepted unless `region` was set). */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** s3rver's data directory. */
  directory: string;
  /** Config for an S3Client that talks to this server with the right credentials:
   * forcePathStyle, and checksums only WHEN_REQUIRED (s3rver would store the aws-chunked framing otherwise). `overrides` win. */
  clientConfig(overrides?: Partial<S3ClientConfig>): S3ClientConfig;
  /** Creates a bucket (through the verifying proxy, with the right credentials). */
  createBucket(name: string): Promise<void>;
  /** The object's bytes. Rejects with the SDK's error (e.g. `NoSuchKey`, `NoSuchBucket`). */
  getObject(bucket: string, key: string): Promise<Buffer>;
  /** Every key in the bucket (all pages), optionally only those under `prefix`, in S3's order. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** Multipart uploads still open (created, neither completed nor aborted) in `bucket`, or in
   * every bucket, ordered by bucket, key, then initiation. Read from s3rver's directory directly
   * (no request is sent, nothing is recorded). Tests assert `[]` after an export is killed, failed
   * or cancelled. */
  incompleteUploads(bucket?: string): Promise<IncompleteUpload[]>;
  /** Per part of each upload, every UploadPart request received since start or `resetCounters()`
   * (optionally only for `uploadId`), ordered by the upload's first request, then part number. */
  uploadPartRequests(uploadId?: string): UploadPartCount[];
  /** Every request received since start or `resetCounters()`, in arrival order (copies). The log
   * is kept in memory without a bound: long-running users (benchmarks) may call `resetCounters()`. */
  requestLog(): S3RequestRecord[];
  /** Forgets the request log, the part counters and the injected-fault log (not the rules). */
  resetCounters(): void;
  /** Replaces the fault rules (each with fresh match counters); `[]` clears them. Takes effect
   * for requests arriving after the call. */
  injectFaults(rules: S3FaultRule[]): void;
  /** Removes every fault rule (same as `injectFaults([])`). */
  clearFaults(): void;
  /** How many faults were injected since start or `resetCounters()`. */
  faultsInjected(): number;
  /** The faults injected since start or `resetCounters()`, in order. */
  injectedFaults(): InjectedS3Fault[];
  /** Stops the proxy and s3rver, drops open keep-alive connections, and removes the directory if
   * this module created it. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts s3rver on a private loopback port behind a SigV4-verifying proxy on 127.0.0.1.
 *
 * @returns a running server; call `close()` when done.
 * @throws if a port cannot be bound or a bucket cannot be created.
 */
export async function startS3Server(opts: StartS3ServerOptions = {}): Promise<TestS3Server> {
  const accessKeyId = opts.accessKeyId ?? 'S3RVER';
  const secretAccessKey = opts.secretAccessKey ?? 'S3RVER';
  const region = opts.region ?? 'us-east-1';
  const ownDirectory = opts.directory === undefined;
  const directory = opts.directory ?? (await mkdtemp(path.join(os.tmpdir(), 's3-server-')));

  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: opts.silent ?? true,
    directory,
    // Path-style only: with vhost buckets on, s3rver guesses a bucket from non-IP Host headers.
    vhostBuckets: false,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name, configs: [] })),
  });
  const upstream = await s3rver.run().catch(async (err: unknown) => {
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
    throw err;
  });
  const upstreamAgent = new http.Agent({ keepAlive: true });
  const uploads = new MultipartStore(directory);
  const recorder = new RequestRecorder();
  const faults = new FaultInjector();

  const proxy = new ProxyHandler({
    credentials: new Map([[accessKeyId, secretAccessKey]]),
    region: opts.region,
    allowAnonymous: opts.allowAnonymous ?? false,
    upstreamPort: upstream.port,
    upstreamAgent,
    uploads,
    recorder,
    faults,
    minPartSizeBytes: opts.minPartSizeBytes ?? 5 * 1024 * 1024,
  });
  const server = http.createServer((req, res) => void proxy.handle(req, res, false));
  // Handling Expect: 100-continue ourselves lets a bad signature be refused before the client
  // sends a multi-MiB body (what S3 does); Node would otherwise answer "100 Continue" at once.
  server.on('checkContinue', (req, res) => void proxy.handle(req, res, true));
  // Node's default 5 s idle timeout races clients that reuse a pooled socket just as it closes
  // (ECONNRESET); S3 keeps idle connections longer. close() drops idle sockets anyway.
  server.keepAliveTimeout = 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await s3rver.close();
    upstreamAgent.destroy();
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;

  const clientConfig = (overrides: Partial<S3ClientConfig> = {}): S3ClientConfig => ({
    endpoint,
    region,
    credentials: { accessKeyId, secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...overrides,
  });
  const client = new S3Client(clientConfig());

  let closing: Promise<void> | undefined;
  const started: StartedServer = { incomplete: () => uploads.incomplete(), leftAtClose: null };
  startedServers.add(started);
  return {
    endpoint,
    port,
    region,
    accessKeyId,
    secretAccessKey,
    directory,
    clientConfig,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async getObject(bucket, key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    async listKeys(bucket, prefix) {
      const keys: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
        for (const o of page.Contents ?? []) keys.push(o.Key!);
      }
      return keys;
    },
    incompleteUploads: (bucket) => uploads.incomplete(bucket),
    uploadPartRequests: (uploadId) => recorder.uploadPartCounts(uploadId),
    requestLog: () => recorder.records.map((r) => ({ ...r })),
    resetCounters() {
      recorder.reset();
      faults.resetLog();
    },
    injectFaults: (rules) => faults.setRules(rules),
    clearFaults: () => faults.setRules([]),
    faultsInjected: () => faults.injected.length,
    injectedFaults: () => faults.injected.map((f) => ({ ...f })),
    close() {
      closing ??= (async () => {
        started.leftAtClose = await uploads.incomplete().catch(() => []);
        client.destroy();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // SDK clients keep sockets alive; without this, close() would wait for them to time out.
        server.closeAllConnections();
        await closed;
        // Drop the proxy's pooled sockets first, or s3rver's close() waits on them.
        upstreamAgent.destroy();
        await s3rver.close();
        if (ownDirectory) await rm(directory, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

// ───────────────────────────── SigV4 verification (pure) ─────────────────────────────

/** An S3 error the proxy answers with as `<Error><Code>…` XML. */
export class S3RequestError extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly detail: Record<string, string> = {},
    /** Overrides the status S3 uses for `code` (default 400 for codes not known here). */
    status?: number,
  ) {
    super(message);
    this.name = code;
    this.status = status ?? ERROR_STATUS[code] ?? 400;
  }
}

const ERROR_STATUS: Record<string, number> = {
  NoSuchBucket: 404,
  NoSuchUpload: 404,
  SlowDown: 503,
  ServiceUnavailable: 503,
  AccessDenied: 403,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  RequestTimeTooSkewed: 403,
  NotImplemented: 501,
  InternalError: 500,
};

/** What a verified signature gives the body checks: the key and scope to verify chunks with. */
export interface VerifiedSignature {
  accessKeyId: string;
  mechanism: 'header' | 'query';
  /** `YYYYMMDDTHHMMSSZ` from x-amz-date / X-Amz-Date. */
  amzDate: string;
  /** `date/region/service/aws4_request`. */
  scope: string;
  signature: string;
  signingKey: Buffer;
  /** The payload hash the signature covers: a hex sha256, UNSIGNED-PAYLOAD or STREAMING-…. */
  payloadHash: string;
}

export interface SignedRequestHead {
  method: string;
  /** Raw request target as on the wire: encoded path plus optional `?query`. */
  url: string;
  /** Lower-case names (as Node gives them); repeated headers as arrays. */
  headers: Record<string, string | string[] | undefined>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const EMPTY_SHA256 = sha256Hex('');
const PAYLOAD_HASHES = new Set([
  'UNSIGNED-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
]);

/**
 * Verifies the SigV4 signature of a request head (Authorization header or presigned query),
 * following https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html.
 * The body is not read: the signed payload hash is returned for the caller to check.
 *
 * @returns the verified signature, or `null` for an unsigned (anonymous) request.
 * @throws S3RequestError: InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed,
 *   AccessDenied (expired URL, unsigned x-amz-* header), AuthorizationHeaderMalformed,
 *   AuthorizationQueryParametersError, InvalidRequest, InvalidArgument, InvalidURI.
 */
export function verifySigV4(
  head: SignedRequestHead,
  opts: { credentials: ReadonlyMap<string, string>; region?: string; now?: Date },
): VerifiedSignature | null {
  const now = opts.now ?? new Date();
  const q = head.url.indexOf('?');
  const rawPath = q < 0 ? head.url : head.url.slice(0, q);
  const query = parseQuery(q < 0 ? '' : head.url.slice(q + 1));
  const header = (name: string) => joinHeader(head.headers[name]);
  const authorization = header('authorization');
  const queryAuth = query.some(([k]) => k === 'X-Amz-Algorithm');
  if (authorization === undefined && !queryAuth) return null;
  if (authorization !== undefined && queryAuth) {
    throw new S3RequestError(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature ' +
        'query string parameter or the Authorization header should be specified',
    );
  }

  let fields: { credential: string; signedHeaders: string; signature: string; amzDate: string };
  let payloadHash: string;
  let canonicalQueryPairs = query;
  if (authorization !== undefined) {
    fields = { ...parseAuthorization(authorization), amzDate: header('x-amz-date') ?? '' };
    if (!fields.amzDate) {
      // S3 also takes a Date header; AWS SDKs always send x-amz-date, so only that is supported.
      throw new S3RequestError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    }
    const declared = header('x-amz-content-sha256');
    if (declared === undefined) {
      throw new S3RequestError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    }
    if (!PAYLOAD_HASHES.has(declared) && !/^[0-9a-f]{64}$/i.test(declared)) {
      throw new S3RequestError('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-…, or a valid sha256 value.', {
        ArgumentName: 'x-amz-content-sha256',
        ArgumentValue: declared,
      });
    }
    payloadHash = declared;
  } else {
    const get = (k: string) => query.find(([name]) => name === k)?.[1];
    if (get('X-Amz-Algorithm') !== ALGORITHM) {
      throw new S3RequestError('AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "${ALGORITHM}"`);
    }
    const credential = get('X-Amz-Credential');
    const signedHeaders = get('X-Amz-SignedHeaders');
    const signature = get('X-Amz-Signature');
    const amzDate = get('X-Amz-Date');
    const expires = get('X-Amz-Expires');
    if (!credential || !signedHeaders || !signature || !amzDate || expires === undefined) {
      throw new S3RequestError(
        'AuthorizationQueryParametersError',
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, ' +
          'X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    if (!/^\d+$/.test(expires) || Number(expires) < 1 || Number(expires) > 604800) {
      throw new S3RequestError('AuthorizationQueryParametersError', 'X-Amz-Expires must be a number of seconds from 1 to 604800 (a week)');
    }
    fields = { credential, signedHeaders, signature, amzDate };
    // Presigned URLs sign no body unless the signer put a hash in the query or a signed header.
    payloadHash =
      query.find(([k]) => k.toLowerCase() === 'x-amz-content-sha256')?.[1] ??
      (signedHeaders.split(';').includes('x-amz-content-sha256') ? header('x-amz-content-sha256') : undefined) ??
      'UNSIGNED-PAYLOAD';
    canonicalQueryPairs = query.filter(([k]) => k !== 'X-Amz-Signature');
  }

  // Credential = <key id>/<yyyymmdd>/<region>/<service>/aws4_request
  const credentialParts = fields.credential.split('/');
  const errorCode = authorization !== undefined ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
  if (credentialParts.length !== 5 || credentialParts[4] !== 'aws4_request') {
    throw new S3RequestError(
      errorCode,
      `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  const [accessKeyId, date, region, service] = credentialParts;
  const requestTime = parseAmzDate(fields.amzDate);
  if (requestTime === undefined) {
    throw new S3RequestError(
      authorization !== undefined ? 'AccessDenied' : 'AuthorizationQueryParametersError',
      `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`,
    );
  }
  if (date !== fields.amzDate.slice(0, 8)) {
    throw new S3RequestError(
      errorCode,
      `Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${fields.amzDate.slice(0, 8)}".`,
    );
  }
  if (service !== 's3') {
    throw new S3RequestError(
      errorCode,
      `Error parsing the X-Amz-Credential parameter; incorrect service "${service}". This endpoint belongs to "s3".`,
    );
  }
  if (opts.region !== undefined && region !== opts.region) {
    throw new S3RequestError(
      errorCode,
      `The authorization header is malformed; the region '${region}' is wrong; expecting '${opts.region}'`,
      { Region: opts.region },
    );
  }
  const secret = opts.credentials.get(accessKeyId);
  if (secret === undefined) {
    throw new S3RequestError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: accessKeyId,
    });
  }

  if (authorization !== undefined) {
    if (Math.abs(now.getTime() - requestTime) > MAX_SKEW_MS) {
      throw new S3RequestError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: fields.amzDate,
        ServerTime: now.toISOString().replace(/\.\d+/, ''),
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      });
    }
  } else {
    const expiresAt = requestTime + Number(query.find(([k]) => k === 'X-Amz-Expires')![1]) * 1000;
    if (now.getTime() > expiresAt) {
      throw new S3RequestError('AccessDenied', 'Request has expired', {
        Expires: new Date(expiresAt).toISOString().replace(/\.\d+/, ''),
        ServerTime: now.toISOString().replace(/\.\d+/, ''),
      });
    }
    if (requestTime - now.getTime() > MAX_SKEW_MS) {
      throw new S3RequestError('AccessDenied', 'Request is not valid yet');
    }
  }

  const signedHeaders = fields.signedHeaders.split(';');
  if (!signedHeaders.includes('host')) {
    throw new S3RequestError(errorCode, "The authorization header is malformed; 'host' must be a signed header.");
  }
  // S3 refuses x-amz-* headers that were added after signing (they could change the request).
  const unsigned = Object.keys(head.headers).filter(
    (h) => h.startsWith('x-amz-') && !signedHeaders.includes(h) && head.headers[h] !== undefined,
  );
  if (unsigned.length > 0) {
    throw new S3RequestError('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }

  const canonicalRequest = [
    head.method,
    canonicalUri(rawPath),
    canonicalQuery(canonicalQueryPairs),
    signedHeaders.map((h) => `${h}:${canonicalHeaderValue(head.headers[h])}\n`).join(''),
    fields.signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, fields.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = deriveSigningKey(secret, date, region, service);
  const expected = hmac(signingKey, stringToSign).toString('hex');
  if (!sameHex(expected, fields.signature)) {
    throw new S3RequestError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: accessKeyId, StringToSign: stringToSign, SignatureProvided: fields.signature, CanonicalRequest: canonicalRequest },
    );
  }
  return {
    accessKeyId,
    mechanism: authorization !== undefined ? 'header' : 'query',
    amzDate: fields.amzDate,
    scope,
    signature: expected,
    signingKey,
    payloadHash,
  };
}

/**
 * Decodes an `aws-chunked` body (x-amz-content-sha256 `STREAMING-…`), verifying each chunk
 * signature and the trailer signature when the payload hash says they are signed.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 *
 * @returns the object bytes and the trailing headers (e.g. `x-amz-checksum-crc32`), without
 *   `x-amz-trailer-signature`.
 * @throws S3RequestError: SignatureDoesNotMatch (a chunk or the trailer), IncompleteBody,
 *   InvalidRequest (bad framing), AccessDenied (signed chunks on an unsigned request),
 *   NotImplemented (SigV4a ECDSA chunks).
 */
export function decodeAwsChunked(
  raw: Buffer,
  payloadHash: string,
  signature: VerifiedSignature | null,
): { body: Buffer; trailers: Record<string, string> } {
  if (payloadHash.startsWith('STREAMING-AWS4-ECDSA')) {
    throw new S3RequestError('NotImplemented', 'SigV4a (ECDSA) chunk signatures are not implemented by this test server');
  }
  const signed = payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  const withTrailer = payloadHash.endsWith('-TRAILER');
  if (signed && signature === null) {
    throw new S3RequestError('AccessDenied', 'Signed chunks need a signed request');
  }
  const malformed = (what: string) => new S3RequestError('InvalidRequest', `Malformed aws-chunked body: ${what}`);
  let previous = signature?.signature ?? '';
  const parts: Buffer[] = [];
  let pos = 0;
  const readLine = (): string => {
    const end = raw.indexOf('\r\n', pos);
    if (end < 0)
      throw new S3RequestError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    const line = raw.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return line;
  };

  for (;;) {
    const [sizeHex, ...extensions] = readLine().split(';');
    if (!/^[0-9a-fA-F]+$/.test(sizeHex)) throw malformed(`bad chunk size "${sizeHex}"`);
    const size = parseInt(sizeHex, 16);
    if (pos + size > raw.length) {
      throw new S3RequestError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    }
    const data = raw.subarray(pos, pos + size);
    pos += size;
    if (signed) {
      const provided = extensions.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length) ?? '';
      const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', signature!.amzDate, signature!.scope, previous, EMPTY_SHA256, sha256Hex(data)].join(
        '\n',
      );
      const expected = hmac(signature!.signingKey, stringToSign).toString('hex');
      if (!sameHex(expected, provided)) {
        throw new S3RequestError('SignatureDoesNotMatch', 'The chunk signature we calculated does not match the signature you provided.', {
          StringToSign: stringToSign,
          SignatureProvided: provided,
        });
      }
      previous = expected;
    }
    if (size === 0) break;
    parts.push(data);
    if (readLine() !== '') throw malformed('chunk data is not followed by CRLF');
  }

  const trailers: Record<string, string> = {};
  let trailerSignature: string | undefined;
  // After the 0-size chunk: optional trailer lines, then an empty line. Tolerate a missing final
  // CRLF after the trailers, which some encoders leave out.
  while (pos < raw.length) {
    const line = readLine();
    if (line === '') break;
    if (!withTrailer) throw malformed('trailing headers without a -TRAILER payload hash');
    const colon = line.indexOf(':');
    if (colon < 0) throw malformed(`bad trailer line "${line}"`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') trailerSignature = value;
    else trailers[name] = value;
  }
  if (pos !== raw.length) throw malformed('bytes after the final chunk');
  if (signed && withTrailer) {
    const canonical = Object.entries(trailers)
      .map(([k, v]) => `${k}:${v}\n`)
      .join('');
    const stringToSign = ['AWS4-HMAC-SHA256-TRAILER', signature!.amzDate, signature!.scope, previous, sha256Hex(canonical)].join('\n');
    const expected = hmac(signature!.signingKey, stringToSign).toString('hex');
    if (!sameHex(expected, trailerSignature ?? '')) {
      throw new S3RequestError('SignatureDoesNotMatch', 'The trailer signature we calculated does not match the signature you provided.', {
        StringToSign: stringToSign,
        SignatureProvided: trailerSignature ?? '',
      });
    }
  }
  return { body: Buffer.concat(parts), trailers };
}

function parseAuthorization(value: string): { credential: string; signedHeaders: string; signature: string } {
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== ALGORITHM) {
    // Includes SigV2 ("AWS key:sig"): AWS SDK v3 never sends it, so this server does not take it.
    throw new S3RequestError('InvalidArgument', 'Unsupported Authorization Type', {
      ArgumentName: 'Authorization',
      ArgumentValue: value,
    });
  }
  const components = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) components.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = components.get('Credential');
  const signedHeaders = components.get('SignedHeaders');
  const signature = components.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new S3RequestError(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
    );
  }
  return { credential, signedHeaders, signature };
}

/** Splits a raw query string into decoded pairs. `+` stays `+`: SigV4 clients send %20 for space. */
function parseQuery(raw: string): [string, string][] {
  return raw
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      return [decode(eq < 0 ? p : p.slice(0, eq)), eq < 0 ? '' : decode(p.slice(eq + 1))];
    });
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3RequestError('InvalidURI', `Couldn't parse the specified URI: ${s}`);
  }
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX-escaped. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3 paths are not normalized; each segment is decoded and re-encoded once, so the canonical form
 * does not depend on which optional escapes the client used. */
function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  return rawPath
    .split('/')
    .map((seg) => uriEncode(decode(seg)))
    .join('/');
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function joinHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

function canonicalHeaderValue(v: string | string[] | undefined): string {
  const values = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return values.map((x) => x.trim().replace(/\s+/g, ' ')).join(',');
}

function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Number.isNaN(t) ? undefined : t;
}

function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  return hmac(hmac(hmac(kDate, region), service), 'aws4_request');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function sameHex(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

// ───────────────────────────── the proxy ─────────────────────────────

// Hop-by-hop headers describe one connection; the proxy's two legs each have their own.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

/** Flexible checksums node:crypto / node:zlib can compute. CRC32C and CRC64NVME are not checked. */
const CHECKSUMS: Record<string, (b: Buffer) => string> = {
  'x-amz-checksum-crc32': (b) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(zlib.crc32(b) >>> 0);
    return out.toString('base64');
  },
  'x-amz-checksum-sha1': (b) => createHash('sha1').update(b).digest('base64'),
  'x-amz-checksum-sha256': (b) => createHash('sha256').update(b).digest('base64'),
};

class ProxyHandler {
  constructor(
    private readonly cfg: {
      credentials: ReadonlyMap<string, string>;
      region: string | undefined;
      allowAnonymous: boolean;
      upstreamPort: number;
      upstreamAgent: http.Agent;
      uploads: MultipartStore;
      recorder: RequestRecorder;
      faults: FaultInjector;
      minPartSizeBytes: number;
    },
  ) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const info = classifyS3Request(method, url, req.headers);
    const record = this.cfg.recorder.add(method, info);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    try {
      const signature = verifySigV4(
        { method, url, headers: req.headersDistinct },
        { credentials: this.cfg.credentials, region: this.cfg.region },
      );
      if (signature === null && !this.cfg.allowAnonymous) {
        throw new S3RequestError('AccessDenied', 'Access Denied');
      }

      const fault = this.cfg.faults.pick(info);
      if (fault !== undefined) {
        record.fault = faultKind(fault);
        if ('delayMs' in fault) {
          await sleep(fault.delayMs);
          if (res.destroyed) return;
        } else {
          await injectFault(req, res, expectContinue, fault);
          return;
        }
      }

      // Multipart operations s3rver lacks or gets wrong; answered (or refused) before the body.
      const uploads = this.cfg.uploads;
      let upload: StoredUpload | undefined;
      if (info.operation === 'ListMultipartUploads') {
        sendXml(req, res, 200, await uploads.listXml(info.bucket, parseQuery(queryString(url))));
        return;
      }
      if (
        info.operation === 'UploadPart' ||
        info.operation === 'CompleteMultipartUpload' ||
        info.operation === 'AbortMultipartUpload' ||
        info.operation === 'ListParts'
      ) {
        upload = await uploads.requireUpload(info);
        if (info.operation === 'UploadPart') checkPartNumber(url);
        if (info.operation === 'AbortMultipartUpload') {
          await uploads.abort(info.bucket!, upload.uploadId);
          res.writeHead(204, { 'x-amz-request-id': requestIdHex() });
          res.end();
          return;
        }
        if (info.operation === 'ListParts') {
          sendXml(req, res, 200, await uploads.listPartsXml(info.bucket!, upload, parseQuery(queryString(url))));
          return;
        }
      }
      if (expectContinue) res.writeContinue();

      const headers: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
      }
      const payloadHash = signature?.payloadHash ?? joinHeader(req.headers['x-amz-content-sha256']) ?? 'UNSIGNED-PAYLOAD';
      const headerChecksums = Object.keys(CHECKSUMS).filter((k) => typeof req.headers[k] === 'string');
      const contentMd5 = method === 'PUT' ? joinHeader(req.headers['content-md5']) : undefined;
      let body: Buffer | undefined;

      if (payloadHash.startsWith('STREAMING-')) {
        const decoded = decodeAwsChunked(await readAll(req), payloadHash, signature);
        body = decoded.body;
        checkDecodedLength(body, req.headers['x-amz-decoded-content-length']);
        if (method === 'PUT') checkChecksums(body, { ...pickHeaders(req, headerChecksums), ...decoded.trailers });
        // Hand s3rver a plain body: it would otherwise store the chunk framing as object data.
        const encodings = (req.headers['content-encoding'] ?? '')
          .split(',')
          .map((e) => e.trim())
          .filter((e) => e !== '' && e !== 'aws-chunked');
        if (encodings.length > 0) headers['content-encoding'] = encodings.join(',');
        else delete headers['content-encoding'];
        delete headers['x-amz-decoded-content-length'];
        delete headers['x-amz-trailer'];
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      } else if (
        /^[0-9a-f]{64}$/i.test(payloadHash) ||
        headerChecksums.length > 0 ||
        contentMd5 !== undefined ||
        info.operation === 'CompleteMultipartUpload'
      ) {
        body = await readAll(req);
        if (/^[0-9a-f]{64}$/i.test(payloadHash) && sha256Hex(body) !== payloadHash.toLowerCase()) {
          throw new S3RequestError(
            'XAmzContentSHA256Mismatch',
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            {
              ClientComputedContentSHA256: payloadHash,
              S3ComputedContentSHA256: sha256Hex(body),
            },
          );
        }
        if (method === 'PUT') checkChecksums(body, pickHeaders(req, headerChecksums));
      }
      if (contentMd5 !== undefined && body !== undefined) checkContentMd5(body, contentMd5);
      if (body !== undefined) headers['content-length'] = String(body.length);
      if (signature?.mechanism === 'header') {
        headers['authorization'] = String(req.headers['authorization']).replace(/Credential=[^/,\s]*\//, 'Credential=S3RVER/');
      }

      let hooks: ForwardHooks = {};
      if (info.operation === 'CompleteMultipartUpload') {
        const etag = await uploads.checkCompletion(info.bucket!, upload!, body!, this.cfg.minPartSizeBytes);
        hooks = {
          // s3rver gives the object the MD5 of its bytes; S3 gives it the multipart form, in the
          // answer and in every later HEAD/GET/List (which s3rver reads from its .md5 file).
          onOk: async (xml) => {
            await uploads.setObjectEtag(info.bucket!, upload!.key, etag);
            return Buffer.from(xml.toString('utf8').replace(/<ETag>[^<]*<\/ETag>/, `<ETag>${escapeXml(`"${etag}"`)}</ETag>`));
          },
        };
      } else if (info.operation === 'UploadPart') {
        // A part still arriving when its upload was aborted or completed makes s3rver recreate the
        // upload's directory (without its key file); remove it again.
        const size = body?.length ?? Number(req.headers['content-length']);
        hooks = {
          onOk: async (answer) => {
            if (Number.isFinite(size)) await uploads.settlePart(info.bucket!, upload!.uploadId, info.partNumber!, size);
            return answer;
          },
          after: () => uploads.removeIfOrphaned(info.bucket!, upload!.uploadId),
        };
      }
      this.forward(req, res, method, upstreamUrl(url, signature), headers, body, hooks);
    } catch (err) {
      sendError(req, res, err);
    }
  }

  /** Sends the request to s3rver and streams its answer back; `body` undefined = stream `req`. */
  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    url: string,
    headers: http.OutgoingHttpHeaders,
    body: Buffer | undefined,
    hooks: ForwardHooks = {},
  ): void {
    const up = http.request(
      { host: '127.0.0.1', port: this.cfg.upstreamPort, method, path: url, headers, agent: this.cfg.upstreamAgent },
      (upRes) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(upRes.headers)) {
          if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
        }
        const status = upRes.statusCode ?? 502;
        const finish = () => void hooks.after?.().catch(() => undefined);
        if (hooks.onOk !== undefined && status === 200) {
          const onOk = hooks.onOk;
          void readAll(upRes)
            .then(onOk)
            .then(
              (rewritten) => {
                out['content-length'] = String(rewritten.length);
                res.writeHead(status, out);
                res.end(rewritten);
              },
              (err: unknown) => sendError(req, res, err),
            )
            .finally(finish);
          return;
        }
        res.writeHead(status, out);
        upRes.pipe(res);
        upRes.on('end', finish);
      },
    );
    up.on('error', (err) => {
      sendError(req, res, err);
      void hooks.after?.().catch(() => undefined);
    });
    // A client that hangs up should not leave s3rver half-way through a request.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    if (body !== undefined) up.end(body);
    else req.pipe(up);
  }
}

interface ForwardHooks {
  /** Rewrites s3rver's 200 answer body (buffered) before it is sent. */
  onOk?: (body: Buffer) => Promise<Buffer>;
  /** Runs once s3rver's answer has been received (or the upstream request failed). */
  after?: () => Promise<void>;
}

/** s3rver's own (signature-blind) check only looks the key id up in its registry, which always
 * holds its built-in S3RVER key; the proxy has already verified the real key, so it hands s3rver
 * that one. s3rver still needs a signed request to honour e.g. response-content-disposition. */
function upstreamUrl(url: string, signature: VerifiedSignature | null): string {
  if (signature?.mechanism !== 'query') return url;
  const q = url.indexOf('?');
  const rewritten = url
    .slice(q + 1)
    .split('&')
    .map((p) => (p.startsWith('X-Amz-Credential=') ? `X-Amz-Credential=${encodeURIComponent(`S3RVER/${signature.scope}`)}` : p))
    .join('&');
  return `${url.slice(0, q)}?${rewritten}`;
}

function pickHeaders(req: http.IncomingMessage, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, String(req.headers[n])]));
}

function checkChecksums(body: Buffer, values: Record<string, string>): void {
  for (const [name, compute] of Object.entries(CHECKSUMS)) {
    const claimed = values[name];
    if (claimed !== undefined && compute(body) !== claimed) {
      const algorithm = name.slice('x-amz-checksum-'.length).toUpperCase();
      throw new S3RequestError('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
    }
  }
}

function checkDecodedLength(body: Buffer, declared: string | string[] | undefined): void {
  if (declared !== undefined && Number(declared) !== body.length) {
    throw new S3RequestError('IncompleteBody', 'The decoded body length does not match x-amz-decoded-content-length', {
      DecodedContentLength: String(declared),
      ReceivedBytes: String(body.length),
    });
  }
}

async function readAll(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendError(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  const e =
    err instanceof S3RequestError
      ? err
      : new S3RequestError('InternalError', `Test S3 proxy: ${err instanceof Error ? err.message : String(err)}`);
  const requestId = requestIdHex();
  const fields = { Code: e.code, Message: e.message, ...e.detail, RequestId: requestId };
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    Object.entries(fields)
      .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
      .join('') +
    '</Error>';
  res.writeHead(e.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amz-request-id': requestId,
  });
  // HEAD answers carry no body; the SDK then names the error after the status (e.g. "Forbidden").
  res.end(req.method === 'HEAD' ? undefined : xml);
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

// ───────────────────────────── request classification (pure) ─────────────────────────────

/** Query parameters that do not change which operation a request is (SDK tags, signing, GET options). */
const NEUTRAL_PARAMS = /^(x-id|versionId|partNumber|response-.*|X-Amz-.*)$/;
const LIST_OBJECTS_PARAMS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'marker',
  'max-keys',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
  'x-id',
]);

/**
 * Names the S3 operation of a request from its method, raw target (`/bucket/key?query`) and
 * headers (`x-amz-copy-source` tells copies apart), path-style only.
 *
 * @returns the operation ('Other' when not one of {@link S3Operation}), decoded bucket and key,
 *   and the `uploadId` / `partNumber` query parameters. Never throws.
 */
export function classifyS3Request(method: string, url: string, headers: http.IncomingHttpHeaders = {}): S3RequestInfo {
  const q = url.indexOf('?');
  const rawPath = (q < 0 ? url : url.slice(0, q)).replace(/^\//, '');
  let query: [string, string][] = [];
  try {
    query = parseQuery(q < 0 ? '' : url.slice(q + 1));
  } catch {
    // a bad escape: the signature check answers InvalidURI
  }
  const names = query.map(([k]) => k);
  const has = (n: string) => names.includes(n);
  const get = (n: string) => query.find(([k]) => k === n)?.[1];
  const slash = rawPath.indexOf('/');
  const bucket = safeDecode(slash < 0 ? rawPath : rawPath.slice(0, slash)) || undefined;
  const key = slash < 0 ? undefined : safeDecode(rawPath.slice(slash + 1)) || undefined;
  const uploadId = get('uploadId');
  const partParam = get('partNumber');
  const partNumber = partParam !== undefined && /^\d+$/.test(partParam) ? Number(partParam) : undefined;
  const copy = headers['x-amz-copy-source'] !== undefined;
  const plainObject = names.every((n) => NEUTRAL_PARAMS.test(n));
  const m = method.toUpperCase();

  let operation: S3Operation = 'Other';
  if (bucket === undefined) {
    if (m === 'GET') operation = 'ListBuckets';
  } else if (key === undefined) {
    if (m === 'GET' && has('uploads')) operation = 'ListMultipartUploads';
    else if (m === 'GET' && names.every((n) => LIST_OBJECTS_PARAMS.has(n) || n.startsWith('X-Amz-'))) operation = 'ListObjects';
    else if (m === 'POST' && has('delete')) operation = 'DeleteObjects';
    else if (names.every((n) => n === 'x-id' || n.startsWith('X-Amz-'))) {
      operation = m === 'PUT' ? 'CreateBucket' : m === 'DELETE' ? 'DeleteBucket' : m === 'HEAD' ? 'HeadBucket' : 'Other';
    }
  } else if (m === 'POST') {
    if (has('uploads')) operation = 'CreateMultipartUpload';
    else if (has('uploadId')) operation = 'CompleteMultipartUpload';
  } else if (m === 'PUT') {
    if (has('uploadId')) operation = copy ? 'UploadPartCopy' : 'UploadPart';
    else if (plainObject) operation = copy ? 'CopyObject' : 'PutObject';
  } else if (m === 'DELETE') {
    if (has('uploadId')) operation = 'AbortMultipartUpload';
    else if (plainObject) operation = 'DeleteObject';
  } else if (m === 'GET') {
    if (has('uploadId')) operation = 'ListParts';
    else if (plainObject) operation = 'GetObject';
  } else if (m === 'HEAD' && plainObject) {
    operation = 'HeadObject';
  }
  return {
    operation,
    ...(bucket !== undefined && { bucket }),
    ...(key !== undefined && { key }),
    ...(uploadId !== undefined && { uploadId }),
    ...(partNumber !== undefined && { partNumber }),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function queryString(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

function checkPartNumber(url: string): void {
  const value = parseQuery(queryString(url)).find(([k]) => k === 'partNumber')?.[1] ?? '';
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10000) {
    throw new S3RequestError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: value,
    });
  }
}

/** S3 checks Content-MD5 (base64 of the body's 16-byte MD5) before storing anything. */
function checkContentMd5(body: Buffer, header: string): void {
  const claimed = header.trim();
  const raw = Buffer.from(claimed, 'base64');
  if (raw.length !== 16 || raw.toString('base64') !== claimed) {
    throw new S3RequestError('InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': claimed });
  }
  const calculated = createHash('md5').update(body).digest('base64');
  if (calculated !== claimed) {
    throw new S3RequestError('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
      ExpectedDigest: claimed,
      CalculatedDigest: calculated,
    });
  }
}

// ───────────────────────────── request log and fault injection ─────────────────────────────

class RequestRecorder {
  records: S3RequestRecord[] = [];

  add(method: string, info: S3RequestInfo): S3RequestRecord {
    const record: S3RequestRecord = { ...info, method, status: null };
    this.records.push(record);
    return record;
  }

  reset(): void {
    this.records = [];
  }

  uploadPartCounts(uploadId?: string): UploadPartCount[] {
    const byPart = new Map<string, UploadPartCount>();
    const uploadOrder = new Map<string, number>();
    for (const r of this.records) {
      if (r.operation !== 'UploadPart' || r.uploadId === undefined || r.partNumber === undefined) continue;
      if (uploadId !== undefined && r.uploadId !== uploadId) continue;
      if (!uploadOrder.has(r.uploadId)) uploadOrder.set(r.uploadId, uploadOrder.size);
      const id = `${r.uploadId}\n${r.partNumber}`;
      let count = byPart.get(id);
      if (count === undefined) {
        count = { uploadId: r.uploadId, key: r.key ?? '', partNumber: r.partNumber, requests: 0, succeeded: 0, statuses: [] };
        byPart.set(id, count);
      }
      count.requests++;
      if (r.status !== null && r.status >= 200 && r.status < 300) count.succeeded++;
      count.statuses.push(r.status);
    }
    return [...byPart.values()].sort((a, b) => uploadOrder.get(a.uploadId)! - uploadOrder.get(b.uploadId)! || a.partNumber - b.partNumber);
  }
}

class FaultInjector {
  private rules: Array<{ rule: S3FaultRule; matched: number; fired: number }> = [];
  injected: InjectedS3Fault[] = [];

  setRules(rules: S3FaultRule[]): void {
    for (const rule of rules) {
      if (rule.every !== undefined && (!Number.isInteger(rule.every) || rule.every < 1)) {
        throw new TypeError(`fault rule: every must be a positive integer, got ${rule.every}`);
      }
      if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 0)) {
        throw new TypeError(`fault rule: times must be a non-negative integer, got ${rule.times}`);
      }
      faultKind(rule.fault); // throws on an unknown shape
    }
    this.rules = rules.map((rule) => ({ rule: { ...rule }, matched: 0, fired: 0 }));
  }

  resetLog(): void {
    this.injected = [];
  }

  /** The fault to inject into this request, if a rule fires (and records it). */
  pick(info: S3RequestInfo): S3Fault | undefined {
    for (const [index, r] of this.rules.entries()) {
      const { rule } = r;
      const operations = Array.isArray(rule.operation) ? rule.operation : [rule.operation];
      if (!operations.includes('*') && !operations.includes(info.operation)) continue;
      if (rule.bucket !== undefined && rule.bucket !== info.bucket) continue;
      if (rule.key !== undefined && rule.key !== info.key) continue;
      if (rule.uploadId !== undefined && rule.uploadId !== info.uploadId) continue;
      if (rule.partNumber !== undefined && rule.partNumber !== info.partNumber) continue;
      if (rule.times !== undefined && r.fired >= rule.times) continue;
      r.matched++;
      if (r.matched % (rule.every ?? 1) !== 0) continue;
      r.fired++;
      this.injected.push({ ...info, rule: index, kind: faultKind(rule.fault), at: new Date() });
      return rule.fault;
    }
    return undefined;
  }
}

function faultKind(fault: S3Fault): S3FaultKind {
  if ('status' in fault && typeof fault.status === 'number' && typeof fault.code === 'string') return 'status';
  if ('reset' in fault && fault.reset) return 'reset';
  if ('stall' in fault && fault.stall) return 'stall';
  if ('delayMs' in fault && typeof fault.delayMs === 'number' && fault.delayMs >= 0) return 'delay';
  throw new TypeError(`unknown fault ${JSON.stringify(fault)}`);
}

const FAULT_MESSAGES: Record<string, string> = {
  InternalError: 'We encountered an internal error. Please try again.',
  SlowDown: 'Please reduce your request rate.',
  ServiceUnavailable: 'Service is unable to handle request.',
};

/** Carries out a status, reset or stall fault (see {@link S3Fault}). */
async function injectFault(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  expectContinue: boolean,
  fault: Exclude<S3Fault, { delayMs: number }>,
): Promise<void> {
  if (expectContinue) res.writeContinue();
  if ('status' in fault) {
    await readAll(req);
    sendError(
      req,
      res,
      new S3RequestError(fault.code, fault.message ?? FAULT_MESSAGES[fault.code] ?? `Injected fault ${fault.code}`, {}, fault.status),
    );
    return;
  }
  if ('stall' in fault) {
    req.resume(); // take the whole body, answer nothing
    return;
  }
  const total = Number(req.headers['content-length']);
  const threshold = fault.afterBytes ?? (Number.isFinite(total) ? Math.floor(total / 2) : 1);
  await new Promise<void>((resolve) => {
    let seen = 0;
    let done = false;
    const reset = () => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.socket.resetAndDestroy();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= threshold) reset();
    };
    if (threshold <= 0) {
      reset();
      return;
    }
    req.on('data', onData);
    req.once('end', reset);
    req.once('error', reset);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ───────────────────────────── multipart bookkeeping ─────────────────────────────

interface StoredUpload {
  uploadId: string;
  key: string;
  initiated: Date;
}

interface StoredPart {
  partNumber: number;
  /** Hex MD5, unquoted. */
  etag: string;
  size: number;
  lastModified: Date;
}

const OWNER_XML = '<ID>123456789000</ID><DisplayName>S3rver</DisplayName>';
const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * Reads and changes s3rver's multipart state where s3rver keeps it: one directory per upload,
 * `<root>/<bucket>/._S3rver_uploads/<uploadId>/` holding `key`, `metadata`, and per part `<n>`
 * (bytes) and `<n>.md5` (hex). The directory goes when the upload completes or is aborted.
 */
class MultipartStore {
  constructor(private readonly root: string) {}

  private uploadsDir(bucket: string): string {
    return path.join(this.root, bucket, '._S3rver_uploads');
  }

  async requireBucket(bucket: string | undefined): Promise<string> {
    const ok =
      bucket !== undefined &&
      !/[/\\]/.test(bucket) &&
      bucket !== '.' &&
      bucket !== '..' &&
      (await stat(path.join(this.root, bucket)).then(
        (s) => s.isDirectory(),
        () => false,
      ));
    if (!ok) throw new S3RequestError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket ?? '' });
    return bucket;
  }

  async get(bucket: string, uploadId: string): Promise<StoredUpload | undefined> {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) return undefined;
    const keyFile = path.join(this.uploadsDir(bucket), uploadId, 'key');
    try {
      const [key, st] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
      return { uploadId, key, initiated: st.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The upload named by a request, which must belong to the request's key. */
  async requireUpload(info: S3RequestInfo): Promise<StoredUpload> {
    const bucket = await this.requireBucket(info.bucket);
    const upload = info.uploadId === undefined ? undefined : await this.get(bucket, info.uploadId);
    if (upload === undefined || upload.key !== info.key) {
      throw new S3RequestError(
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: info.uploadId ?? '' },
      );
    }
    return upload;
  }

  /** Open uploads of a bucket, by key then initiation (then id). */
  async list(bucket: string): Promise<StoredUpload[]> {
    let names: string[];
    try {
      names = await readdir(this.uploadsDir(bucket));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
    const uploads = (await Promise.all(names.map((id) => this.get(bucket, id)))).filter((u) => u !== undefined);
    return uploads.sort(
      (a, b) =>
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.initiated.getTime() - b.initiated.getTime() || (a.uploadId < b.uploadId ? -1 : 1),
    );
  }

  /** Stored parts of an upload (those whose MD5 is written), by part number. */
  async parts(bucket: string, uploadId: string): Promise<StoredPart[]> {
    const dir = path.join(this.uploadsDir(bucket), uploadId);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const parts = await Promise.all(
      names
        .filter((n) => /^\d+$/.test(n))
        .map(async (n): Promise<StoredPart | undefined> => {
          try {
            const [etag, st] = await Promise.all([readFile(path.join(dir, `${n}.md5`), 'utf8'), stat(path.join(dir, n))]);
            return { partNumber: Number(n), etag: etag.trim(), size: st.size, lastModified: st.mtime };
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // still arriving
            throw err;
          }
        }),
    );
    return parts.filter((p) => p !== undefined).sort((a, b) => a.partNumber - b.partNumber);
  }

  async abort(bucket: string, uploadId: string): Promise<void> {
    await rm(path.join(this.uploadsDir(bucket), uploadId), { recursive: true, force: true });
  }

  /** Removes an upload directory that has lost its key file (see the UploadPart hook). */
  async removeIfOrphaned(bucket: string, uploadId: string): Promise<void> {
    if ((await this.get(bucket, uploadId)) === undefined) await this.abort(bucket, uploadId);
  }

  /** Waits (up to 1 s) until s3rver has flushed a part's bytes: it answers UploadPart before its
   * write stream has finished, and CompleteMultipartUpload reads the part files. */
  async settlePart(bucket: string, uploadId: string, partNumber: number, size: number): Promise<void> {
    const file = path.join(this.uploadsDir(bucket), uploadId, String(partNumber));
    for (let i = 0; i < 200; i++) {
      const st = await stat(file).catch(() => undefined);
      if (st === undefined || st.size >= size) return;
      await sleep(5);
    }
  }

  async incomplete(bucket?: string): Promise<IncompleteUpload[]> {
    const buckets =
      bucket !== undefined
        ? [bucket]
        : (await readdir(this.root, { withFileTypes: true }))
            .filter((d) => d.isDirectory())
            .map((d) => d.name)
            .sort();
    const out: IncompleteUpload[] = [];
    for (const b of buckets) {
      for (const u of await this.list(b)) {
        out.push({ bucket: b, key: u.key, uploadId: u.uploadId, initiated: u.initiated, parts: (await this.parts(b, u.uploadId)).length });
      }
    }
    return out;
  }

  /** ListMultipartUploadsResult for GET /<bucket>?uploads (prefix, key-marker, upload-id-marker,
   * max-uploads, encoding-type; delimiter is not implemented). */
  async listXml(bucketName: string | undefined, query: [string, string][]): Promise<string> {
    const bucket = await this.requireBucket(bucketName);
    const get = (k: string) => query.find(([n]) => n === k)?.[1];
    if (get('delimiter')) {
      throw new S3RequestError('NotImplemented', 'ListMultipartUploads with a delimiter is not implemented by this test server');
    }
    const prefix = get('prefix') ?? '';
    const keyMarker = get('key-marker') ?? '';
    const uploadIdMarker = get('upload-id-marker') ?? '';
    const max = parseMax(get('max-uploads'), 'max-uploads');
    const encode = get('encoding-type') === 'url' ? (s: string) => encodeURIComponent(s) : (s: string) => s;
    const all = await this.list(bucket);
    const markerIndex = keyMarker && uploadIdMarker ? all.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker) : -1;
    const candidates = all.filter(
      (u, i) =>
        u.key.startsWith(prefix) && (keyMarker === '' || u.key > keyMarker || (markerIndex >= 0 && u.key === keyMarker && i > markerIndex)),
    );
    const page = candidates.slice(0, max);
    const truncated = candidates.length > page.length;
    const last = page[page.length - 1];
    const el = (name: string, value: string) => `<${name}>${escapeXml(value)}</${name}>`;
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="${S3_XMLNS}">` +
      el('Bucket', bucket) +
      el('KeyMarker', encode(keyMarker)) +
      el('UploadIdMarker', uploadIdMarker) +
      el('NextKeyMarker', truncated && last ? encode(last.key) : '') +
      el('NextUploadIdMarker', truncated && last ? last.uploadId : '') +
      el('Prefix', encode(prefix)) +
      el('MaxUploads', String(max)) +
      el('IsTruncated', String(truncated)) +
      (get('encoding-type') === 'url' ? el('EncodingType', 'url') : '') +
      page
        .map(
          (u) =>
            `<Upload>${el('Key', encode(u.key))}${el('UploadId', u.uploadId)}<Initiator>${OWNER_XML}</Initiator>` +
            `<Owner>${OWNER_XML}</Owner><StorageClass>STANDARD</StorageClass>${el('Initiated', u.initiated.toISOString())}</Upload>`,
        )
        .join('') +
      '</ListMultipartUploadsResult>'
    );
  }

  /** ListPartsResult for GET /<bucket>/<key>?uploadId=… (max-parts, part-number-marker). */
  async listPartsXml(bucket: string, upload: StoredUpload, query: [string, string][]): Promise<string> {
    const get = (k: string) => query.find(([n]) => n === k)?.[1];
    const marker = Number(get('part-number-marker') ?? 0) || 0;
    const max = parseMax(get('max-parts'), 'max-parts');
    const candidates = (await this.parts(bucket, upload.uploadId)).filter((p) => p.partNumber > marker);
    const page = candidates.slice(0, max);
    const truncated = candidates.length > page.length;
    const el = (name: string, value: string) => `<${name}>${escapeXml(value)}</${name}>`;
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult xmlns="${S3_XMLNS}">` +
      el('Bucket', bucket) +
      el('Key', upload.key) +
      el('UploadId', upload.uploadId) +
      `<Initiator>${OWNER_XML}</Initiator><Owner>${OWNER_XML}</Owner><StorageClass>STANDARD</StorageClass>` +
      el('PartNumberMarker', String(marker)) +
      el('NextPartNumberMarker', String(page.length > 0 ? page[page.length - 1].partNumber : marker)) +
      el('MaxParts', String(max)) +
      el('IsTruncated', String(truncated)) +
      page
        .map(
          (p) =>
            `<Part>${el('PartNumber', String(p.partNumber))}${el('LastModified', p.lastModified.toISOString())}` +
            `${el('ETag', `"${p.etag}"`)}${el('Size', String(p.size))}</Part>`,
        )
        .join('') +
      '</ListPartsResult>'
    );
  }

  /**
   * Checks a CompleteMultipartUpload body against the stored parts as S3 does.
   *
   * @returns the object's ETag, unquoted: hex MD5 of the concatenated binary part MD5s, `-`, part count.
   * @throws S3RequestError MalformedXML, InvalidPartOrder, InvalidPart, EntityTooSmall.
   */
  async checkCompletion(bucket: string, upload: StoredUpload, xml: Buffer, minPartSize: number): Promise<string> {
    const listed = [...xml.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      partNumber: /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1])?.[1],
      etag: /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1])?.[1],
    }));
    if (listed.length === 0 || listed.some((p) => p.partNumber === undefined || p.etag === undefined)) {
      throw new S3RequestError(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema.',
      );
    }
    for (let i = 1; i < listed.length; i++) {
      if (Number(listed[i].partNumber) <= Number(listed[i - 1].partNumber)) {
        throw new S3RequestError(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
          {
            UploadId: upload.uploadId,
          },
        );
      }
    }
    const stored = new Map((await this.parts(bucket, upload.uploadId)).map((p) => [p.partNumber, p]));
    const md5s: Buffer[] = [];
    for (const [i, p] of listed.entries()) {
      const partNumber = Number(p.partNumber);
      const etag = unescapeXml(p.etag!).replace(/"/g, '').trim().toLowerCase();
      const part = stored.get(partNumber);
      if (part === undefined || part.etag.toLowerCase() !== etag) {
        throw new S3RequestError(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          { UploadId: upload.uploadId, PartNumber: String(partNumber), ETag: etag },
        );
      }
      if (i < listed.length - 1 && part.size < minPartSize) {
        throw new S3RequestError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
          ProposedSize: String(part.size),
          MinSizeAllowed: String(minPartSize),
          PartNumber: String(partNumber),
          ETag: part.etag,
        });
      }
      md5s.push(Buffer.from(part.etag, 'hex'));
    }
    return `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}`;
  }

  /** Overwrites the ETag s3rver serves for an object (its `<name>._S3rver_object.md5` file). */
  async setObjectEtag(bucket: string, key: string, etag: string): Promise<void> {
    const dirs = key.split('/');
    const name = dirs.pop()!;
    await writeFile(path.join(this.root, bucket, ...dirs, `${name}._S3rver_object.md5`), etag);
  }
}

function parseMax(value: string | undefined, name: string): number {
  if (value === undefined) return 1000;
  if (!/^\d+$/.test(value)) {
    throw new S3RequestError('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: value,
    });
  }
  return Math.min(Number(value), 1000);
}

function unescapeXml(s: string): string {
  return s.replace(
    /&(quot|amp|lt|gt|apos|#34|#x22);/g,
    (_, e: string) => ({ quot: '"', amp: '&', lt: '<', gt: '>', apos: "'", '#34': '"', '#x22': '"' })[e]!,
  );
}

function requestIdHex(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

function sendXml(req: http.IncomingMessage, res: http.ServerResponse, status: number, xml: string): void {
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amz-request-id': requestIdHex(),
  });
  res.end(req.method === 'HEAD' ? undefined : xml);
}

// ───────────────────────────── assertions for tests (jest-free) ─────────────────────────────

/**
 * Resolves once `server` holds no incomplete multipart upload (in `bucket`, or in any bucket);
 * polls every 50 ms for up to `timeoutMs` (default 0: checks once), for cleanup that finishes just
 * after the export's status changes.
 *
 * @throws Error naming each upload still open (bucket/key, upload id, parts, initiation time, UTC).
 */
export async function expectNoIncompleteUploads(
  server: Pick<TestS3Server, 'incompleteUploads'>,
  opts: { bucket?: string; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 0);
  for (;;) {
    const open = await server.incompleteUploads(opts.bucket);
    if (open.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `Expected no incomplete multipart uploads${opts.bucket !== undefined ? ` in bucket ${opts.bucket}` : ''}, found ${open.length}:\n` +
          open
            .map((u) => `  ${u.bucket}/${u.key} uploadId=${u.uploadId} parts=${u.parts} initiated=${u.initiated.toISOString()}`)
            .join('\n'),
      );
    }
    await sleep(50);
  }
}
