/**
 * The test S3 server (test/support/s3-server.ts) against the real AWS SDK v3: it must store and
 * return bytes faithfully, and, unlike stock s3rver, refuse requests signed with the wrong secret.
 * Needs no PostgreSQL or Redis.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, randomBytes, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import {
  decodeAwsChunked,
  S3RequestError,
  startS3Server,
  verifySigV4,
  type TestS3Server,
} from './support/s3-server';

const BUCKET = 'exports';
const MiB = 1024 * 1024;

let server: TestS3Server;
const clients: S3Client[] = [];
function client(overrides: Partial<S3ClientConfig> = {}): S3Client {
  const c = new S3Client(server.clientConfig(overrides));
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET], accessKeyId: 'AKIDTEST', secretAccessKey: 'right-secret' });
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.close();
});

describe('with the right credentials', () => {
  it('round-trips PutObject + GetObject, including a key that needs URI encoding', async () => {
    // Spaces, non-ASCII, and characters that SigV4 escapes but encodeURIComponent does not.
    const key = "events/2026 11/ünï code (1)+!*'~=&.json";
    const body = Buffer.from(JSON.stringify({ hello: 'world', n: 42 }));
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/json' }));

    const got = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(got.ContentType).toBe('application/json');
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
    expect(await server.getObject(BUCKET, key)).toEqual(body);
    expect(await server.listKeys(BUCKET, 'events/2026 11/')).toEqual([key]);
  });

  it('round-trips a 12 MiB Readable through a multipart lib-storage Upload (5 MiB parts)', async () => {
    const size = 12 * MiB;
    const data = randomBytes(size);
    // A plain stream of 1 MiB pieces: lib-storage has to cut it into parts itself.
    const stream = Readable.from(
      (function* () {
        for (let off = 0; off < size; off += MiB) yield data.subarray(off, off + MiB);
      })(),
    );
    const parts = new Set<number>();
    const upload = new Upload({
      client: client(),
      params: { Bucket: BUCKET, Key: 'big/12mib.bin', Body: stream },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    upload.on('httpUploadProgress', (p) => p.part !== undefined && parts.add(p.part));
    await upload.done();

    expect([...parts].sort()).toEqual([1, 2, 3]); // 5 + 5 + 2 MiB: really multipart
    const head = await client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/12mib.bin' }));
    expect(head.ContentLength).toBe(size);
    const stored = await server.getObject(BUCKET, 'big/12mib.bin');
    expect(sha256(stored)).toBe(sha256(data));
  });

  it('stores a stream PutObject correctly even with the SDK default (aws-chunked) checksums', async () => {
    // Stock s3rver keeps the aws-chunked framing as object bytes (a silent corruption);
    // the proxy decodes it, as real S3 does.
    const data = randomBytes(2 * MiB + 123);
    const c = client({ requestChecksumCalculation: 'WHEN_SUPPORTED', responseChecksumValidation: 'WHEN_SUPPORTED' });
    await c.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked.bin', Body: Readable.from([data]), ContentLength: data.length }),
    );
    expect(sha256(await server.getObject(BUCKET, 'chunked.bin'))).toBe(sha256(data));
  });

  it('answers NoSuchBucket for a bucket that does not exist', async () => {
    await expect(
      client().send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' })),
    ).rejects.toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    await expect(client().send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
    await expect(server.getObject('no-such-bucket', 'k')).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('creates buckets through the helper', async () => {
    await server.createBucket('made-later');
    await client().send(new PutObjectCommand({ Bucket: 'made-later', Key: 'a/1', Body: '1' }));
    await client().send(new PutObjectCommand({ Bucket: 'made-later', Key: 'b/2', Body: '2' }));
    expect(await server.listKeys('made-later')).toEqual(['a/1', 'b/2']);
    expect(await server.listKeys('made-later', 'b/')).toEqual(['b/2']);
  });
});

describe('with the wrong credentials', () => {
  it('refuses the right key id with a wrong secret: 403 SignatureDoesNotMatch, nothing stored', async () => {
    const bad = client({ credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'wrong-secret' } });
    const err = await bad
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'denied-secret/put.txt', Body: 'nope' }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SignatureDoesNotMatch', Code: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    await expect(bad.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'anything' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    await expect(bad.send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    expect(await server.listKeys(BUCKET, 'denied-secret/')).toEqual([]);
  });

  it('refuses wrong-secret uploads: multipart, and a 3 MiB PutObject (sent with Expect: 100-continue)', async () => {
    const bad = client({ credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'wrong-secret' } });
    const upload = new Upload({
      client: bad,
      params: { Bucket: BUCKET, Key: 'denied-large/big.bin', Body: Readable.from([randomBytes(6 * MiB)]) },
      partSize: 5 * MiB,
    });
    await expect(upload.done()).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    await expect(
      bad.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'denied-large/3mib.bin', Body: randomBytes(3 * MiB) })),
    ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    expect(await server.listKeys(BUCKET, 'denied-large/')).toEqual([]);
  });

  it('refuses an unknown access key id: 403 InvalidAccessKeyId', async () => {
    const stranger = client({ credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'right-secret' } });
    await expect(
      stranger.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'denied-key/x', Body: 'x' })),
    ).rejects.toMatchObject({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } });
    expect(await server.listKeys(BUCKET, 'denied-key/')).toEqual([]);
    // s3rver's own built-in key is not a back door either.
    const builtin = client({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await expect(builtin.send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
    });
  });

  it('refuses unsigned requests: 403 AccessDenied with an S3 XML error', async () => {
    const res = await rawRequest('GET', `/${BUCKET}/anything`);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/xml');
    expect(res.body.toString()).toMatch(/<Error><Code>AccessDenied<\/Code>/);
  });
});

describe('hand-signed requests (an independent signer: @smithy/signature-v4)', () => {
  const signer = () =>
    new SignatureV4({
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      region: server.region,
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false, // S3 signs the already-encoded path as is
    });
  const requestFor = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) => ({
    method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: server.port,
    path,
    query: {},
    headers: { host: `127.0.0.1:${server.port}`, ...headers },
    body,
  });

  it('accepts a presigned GET URL; refuses it tampered or expired', async () => {
    const want = randomBytes(3 * MiB);
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/report.bin', Body: want }));
    const presigned = await signer().presign(
      requestFor('GET', `/${BUCKET}/presigned/report.bin`, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }),
      { expiresIn: 60 },
    );
    const url = presignedPath(presigned);
    const ok = await rawRequest('GET', url);
    expect(ok.status).toBe(200);
    expect(sha256(ok.body)).toBe(sha256(want)); // (toEqual on MiBs of bytes takes seconds)

    // s3rver honours response-* overrides only on requests it sees as signed; they survive the proxy.
    const download = await signer().presign(
      {
        ...requestFor('GET', `/${BUCKET}/presigned/report.bin`, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }),
        query: { 'response-content-disposition': 'attachment; filename="report 1.bin"' },
      },
      { expiresIn: 60 },
    );
    const downloaded = await rawRequest('GET', presignedPath(download));
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers['content-disposition']).toBe('attachment; filename="report 1.bin"');

    const tampered = await rawRequest('GET', url.replace('presigned/report.bin', 'presigned/other.bin'));
    expect(tampered.status).toBe(403);
    expect(tampered.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');

    const old = await signer().presign(requestFor('GET', `/${BUCKET}/presigned/report.bin`), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });
    const expired = await rawRequest('GET', presignedPath(old));
    expect(expired.status).toBe(403);
    expect(expired.body.toString()).toContain('Request has expired');
  });

  it('refuses a body that does not match its signed x-amz-content-sha256', async () => {
    const signed = await signer().sign(
      requestFor('PUT', `/${BUCKET}/denied-hash/mismatch`, { 'x-amz-content-sha256': sha256(Buffer.from('abc')) }),
    );
    const res = await rawRequest('PUT', signed.path, signed.headers as Record<string, string>, Buffer.from('abd'));
    expect(res.status).toBe(400);
    expect(res.body.toString()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    expect(await server.listKeys(BUCKET, 'denied-hash/')).toEqual([]);
  });

  it('decodes a chunk-signed upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and refuses a forged chunk', async () => {
    const data = randomBytes(150_000);
    const put = async (key: string, tamper: boolean) => {
      const pieces = [data.subarray(0, 65536), data.subarray(65536, 131072), data.subarray(131072), Buffer.alloc(0)];
      const framed = (sigs: string[]) =>
        Buffer.concat(
          pieces.flatMap((p, i) => [
            Buffer.from(`${p.length.toString(16)};chunk-signature=${sigs[i]}\r\n`),
            tamper && i === 1 ? flipFirstByte(p) : p,
            Buffer.from('\r\n'),
          ]),
        );
      const contentLength = framed(pieces.map(() => '0'.repeat(64))).length;
      const seed = await signer().sign(
        requestFor('PUT', `/${BUCKET}/${key}`, {
          'content-encoding': 'aws-chunked',
          'content-length': String(contentLength),
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'x-amz-decoded-content-length': String(data.length),
        }),
      );
      const headers = seed.headers as Record<string, string>;
      const amzDate = headers['x-amz-date'];
      const scope = `${amzDate.slice(0, 8)}/${server.region}/s3/aws4_request`;
      const key4 = signingKey(server.secretAccessKey, amzDate.slice(0, 8), server.region);
      let previous = /Signature=([0-9a-f]{64})/.exec(headers.authorization)![1];
      const sigs = pieces.map((p) => {
        const sts = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, sha256(Buffer.alloc(0)), sha256(p)].join('\n');
        previous = createHmac('sha256', key4).update(sts).digest('hex');
        return previous;
      });
      return rawRequest('PUT', seed.path, headers, framed(sigs));
    };

    const ok = await put('chunk-signed.bin', false);
    expect(ok.status).toBe(200);
    expect(sha256(await server.getObject(BUCKET, 'chunk-signed.bin'))).toBe(sha256(data));

    const forged = await put('denied-chunk/forged.bin', true);
    expect(forged.status).toBe(403);
    expect(forged.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(await server.listKeys(BUCKET, 'denied-chunk/')).toEqual([]);
  });
});

// The examples AWS publishes for SigV4 (GET Object, presigned URL, chunked uploads), checked with
// the pure verifier at the documents' date: they prove the server follows the spec, not merely
// the SDK's reading of it.
describe('AWS documentation test vectors', () => {
  const credentials = new Map([['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY']]);
  const now = new Date('2013-05-24T00:00:00Z');
  const DOC_AUTH = (signedHeaders: string, signature: string) =>
    `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`;

  it('GET Object with an Authorization header (sig-v4-header-based-auth)', () => {
    const head = {
      method: 'GET',
      url: '/test.txt',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-amz-date': '20130524T000000Z',
        authorization: DOC_AUTH(
          'host;range;x-amz-content-sha256;x-amz-date',
          'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
        ),
      },
    };
    expect(verifySigV4(head, { credentials, now })).toMatchObject({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', mechanism: 'header' });
    expect(() => verifySigV4(head, { credentials: new Map([['AKIAIOSFODNN7EXAMPLE', 'other']]), now })).toThrow(
      expect.objectContaining({ code: 'SignatureDoesNotMatch', status: 403 }),
    );
    expect(() => verifySigV4({ ...head, headers: { ...head.headers, range: 'bytes=0-10' } }, { credentials, now })).toThrow(
      expect.objectContaining({ code: 'SignatureDoesNotMatch' }),
    );
    expect(() => verifySigV4(head, { credentials, now: new Date('2013-05-24T00:16:00Z') })).toThrow(
      expect.objectContaining({ code: 'RequestTimeTooSkewed' }),
    );
    expect(() => verifySigV4(head, { credentials, now, region: 'eu-west-1' })).toThrow(
      expect.objectContaining({ code: 'AuthorizationHeaderMalformed' }),
    );
    expect(() => verifySigV4(head, { credentials: new Map(), now })).toThrow(
      expect.objectContaining({ code: 'InvalidAccessKeyId' }),
    );
  });

  it('presigned GET URL (sigv4-query-string-auth)', () => {
    const url =
      '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const head = { method: 'GET', url, headers: { host: 'examplebucket.s3.amazonaws.com' } };
    expect(verifySigV4(head, { credentials, now: new Date('2013-05-24T23:59:59Z') })).toMatchObject({ mechanism: 'query' });
    expect(() => verifySigV4(head, { credentials, now: new Date('2013-05-25T00:00:01Z') })).toThrow(
      expect.objectContaining({ code: 'AccessDenied', message: 'Request has expired' }),
    );
  });

  it.each([
    {
      name: 'chunked upload (sigv4-streaming)',
      payload: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      signedHeaders: 'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
      seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      chunks: [
        'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
        '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
        'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
      ],
      trailer: '',
      extra: { 'content-length': '66824' },
    },
    {
      name: 'chunked upload with a trailing checksum (sigv4-streaming-trailers)',
      payload: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      signedHeaders: 'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer',
      seed: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
      chunks: [
        'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
        '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
        '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
      ],
      trailer: 'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n',
      extra: { 'x-amz-trailer': 'x-amz-checksum-crc32c' },
    },
  ])('$name', ({ payload, signedHeaders, seed, chunks, trailer, extra }) => {
    const head = {
      method: 'PUT',
      url: '/examplebucket/chunkObject.txt',
      headers: {
        host: 's3.amazonaws.com',
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': payload,
        'x-amz-date': '20130524T000000Z',
        'x-amz-decoded-content-length': '66560',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        authorization: DOC_AUTH(signedHeaders, seed),
        ...extra,
      },
    };
    const verified = verifySigV4(head, { credentials, now });
    const body = (sigs: string[], sizes = [65536, 1024, 0]) =>
      Buffer.from(
        sizes.map((n, i) => `${n.toString(16)};chunk-signature=${sigs[i]}\r\n${'a'.repeat(n)}${n ? '\r\n' : ''}`).join('') +
          trailer +
          '\r\n',
      );
    if (payload.endsWith('PAYLOAD')) expect(body(chunks).length).toBe(66824); // the document's Content-Length

    const decoded = decodeAwsChunked(body(chunks), payload, verified);
    expect(decoded.body.equals(Buffer.alloc(66560, 'a'))).toBe(true);
    expect(decoded.trailers).toEqual(trailer ? { 'x-amz-checksum-crc32c': 'sOO8/Q==' } : {});

    const swapped = [chunks[1], chunks[0], chunks[2]];
    expect(() => decodeAwsChunked(body(swapped), payload, verified)).toThrow(S3RequestError);
    expect(() => decodeAwsChunked(body(swapped), payload, verified)).toThrow(
      expect.objectContaining({ code: 'SignatureDoesNotMatch' }),
    );
    if (trailer) {
      const forgedTrailer = body(chunks).toString('latin1').replace('sOO8/Q==', 'AAAAAA==');
      expect(() => decodeAwsChunked(Buffer.from(forgedTrailer, 'latin1'), payload, verified)).toThrow(
        expect.objectContaining({ code: 'SignatureDoesNotMatch' }),
      );
    }
  });
});

// ───────────────────────────── helpers ─────────────────────────────

type SourceData = string | ArrayBuffer | ArrayBufferView;

function flipFirstByte(b: Buffer): Buffer {
  const copy = Buffer.from(b);
  copy[0] ^= 0xff;
  return copy;
}

/** path?query of a presigned request, encoded the SigV4 way (%20 for space, not +). */
function presignedPath(r: { path: string; query?: object }): string {
  return `${r.path}?${new URLSearchParams((r.query ?? {}) as Record<string, string>).toString().replace(/\+/g, '%20')}`;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function signingKey(secret: string, date: string, region: string): Buffer {
  const h = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  return h(h(h(h(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
}

/** The sha256 constructor @smithy/signature-v4 wants (hash, or HMAC when given a secret). */
class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

function toBuffer(d: SourceData): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

/** A bare HTTP request to the server, so tests control every header and byte. */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // agent: false = a fresh connection each time, so no test races a keep-alive timeout.
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
