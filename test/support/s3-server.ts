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
 * Free of jest imports on purpose: demo scripts compiled with tsc reuse it.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import S3rver from 's3rver';

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

  const proxy = new ProxyHandler({
    credentials: new Map([[accessKeyId, secretAccessKey]]),
    region: opts.region,
    allowAnonymous: opts.allowAnonymous ?? false,
    upstreamPort: upstream.port,
    upstreamAgent,
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
    close() {
      closing ??= (async () => {
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
  ) {
    super(message);
    this.name = code;
    this.status = ERROR_STATUS[code] ?? 400;
  }
}

const ERROR_STATUS: Record<string, number> = {
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
      throw new S3RequestError(
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-…, or a valid sha256 value.',
        { ArgumentName: 'x-amz-content-sha256', ArgumentValue: declared },
      );
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
      throw new S3RequestError(
        'AuthorizationQueryParametersError',
        'X-Amz-Expires must be a number of seconds from 1 to 604800 (a week)',
      );
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
    throw new S3RequestError(errorCode, `Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${fields.amzDate.slice(0, 8)}".`);
  }
  if (service !== 's3') {
    throw new S3RequestError(errorCode, `Error parsing the X-Amz-Credential parameter; incorrect service "${service}". This endpoint belongs to "s3".`);
  }
  if (opts.region !== undefined && region !== opts.region) {
    throw new S3RequestError(errorCode, `The authorization header is malformed; the region '${region}' is wrong; expecting '${opts.region}'`, { Region: opts.region });
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
    if (end < 0) throw new S3RequestError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
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
      const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', signature!.amzDate, signature!.scope, previous, EMPTY_SHA256, sha256Hex(data)].join('\n');
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
    const canonical = Object.entries(trailers).map(([k, v]) => `${k}:${v}\n`).join('');
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
  return rawPath.split('/').map((seg) => uriEncode(decode(seg))).join('/');
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
    },
  ) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): Promise<void> {
    try {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const signature = verifySigV4(
        { method, url, headers: req.headersDistinct },
        { credentials: this.cfg.credentials, region: this.cfg.region },
      );
      if (signature === null && !this.cfg.allowAnonymous) {
        throw new S3RequestError('AccessDenied', 'Access Denied');
      }
      if (expectContinue) res.writeContinue();

      const headers: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
      }
      const payloadHash = signature?.payloadHash ?? joinHeader(req.headers['x-amz-content-sha256']) ?? 'UNSIGNED-PAYLOAD';
      const headerChecksums = Object.keys(CHECKSUMS).filter((k) => typeof req.headers[k] === 'string');
      let body: Buffer | undefined;

      if (payloadHash.startsWith('STREAMING-')) {
        const decoded = decodeAwsChunked(await readAll(req), payloadHash, signature);
        body = decoded.body;
        checkDecodedLength(body, req.headers['x-amz-decoded-content-length']);
        if (method === 'PUT') checkChecksums(body, { ...pickHeaders(req, headerChecksums), ...decoded.trailers });
        // Hand s3rver a plain body: it would otherwise store the chunk framing as object data.
        const encodings = String(req.headers['content-encoding'] ?? '')
          .split(',')
          .map((e) => e.trim())
          .filter((e) => e !== '' && e !== 'aws-chunked');
        if (encodings.length > 0) headers['content-encoding'] = encodings.join(',');
        else delete headers['content-encoding'];
        delete headers['x-amz-decoded-content-length'];
        delete headers['x-amz-trailer'];
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      } else if (/^[0-9a-f]{64}$/i.test(payloadHash) || headerChecksums.length > 0) {
        body = await readAll(req);
        if (/^[0-9a-f]{64}$/i.test(payloadHash) && sha256Hex(body) !== payloadHash.toLowerCase()) {
          throw new S3RequestError('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
            ClientComputedContentSHA256: payloadHash,
            S3ComputedContentSHA256: sha256Hex(body),
          });
        }
        if (method === 'PUT') checkChecksums(body, pickHeaders(req, headerChecksums));
      }
      if (body !== undefined) headers['content-length'] = String(body.length);
      if (signature?.mechanism === 'header') {
        headers['authorization'] = String(req.headers['authorization']).replace(/Credential=[^/,\s]*\//, 'Credential=S3RVER/');
      }

      this.forward(req, res, method, upstreamUrl(url, signature), headers, body);
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
  ): void {
    const up = http.request(
      { host: '127.0.0.1', port: this.cfg.upstreamPort, method, path: url, headers, agent: this.cfg.upstreamAgent },
      (upRes) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(upRes.headers)) {
          if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
        }
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
      },
    );
    up.on('error', (err) => sendError(req, res, err));
    // A client that hangs up should not leave s3rver half-way through a request.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    if (body !== undefined) up.end(body);
    else req.pipe(up);
  }
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
  const requestId = randomBytes(8).toString('hex').toUpperCase();
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
