/**
 * The test S3 server (test/support/s3-server.ts) against the real AWS SDK v3: it must store and
 * return bytes faithfully, and, unlike stock s3rver, refuse requests signed with the wrong secret,
 * keep multipart uploads as S3 does (list, abort, ETags, part checks, Content-MD5), count requests
 * and inject the faults tests ask for. Needs no PostgreSQL or Redis.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, randomBytes, type Hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  classifyS3Request,
  decodeAwsChunked,
  expectNoIncompleteUploads,
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
afterEach(() => {
  server.clearFaults();
  server.resetCounters();
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
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked.bin', Body: Readable.from([data]), ContentLength: data.length }));
    expect(sha256(await server.getObject(BUCKET, 'chunked.bin'))).toBe(sha256(data));
  });

  it('answers NoSuchBucket for a bucket that does not exist', async () => {
    await expect(client().send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
      $metadata: { httpStatusCode: 404 },
    });
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
    await expect(stranger.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'denied-key/x', Body: 'x' }))).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
      $metadata: { httpStatusCode: 403 },
    });
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
    const res = await rawRequest('PUT', signed.path, signed.headers, Buffer.from('abd'));
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
    expect(() => verifySigV4(head, { credentials: new Map(), now })).toThrow(expect.objectContaining({ code: 'InvalidAccessKeyId' }));
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
      signedHeaders:
        'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
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
      trailer:
        'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n',
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
    expect(() => decodeAwsChunked(body(swapped), payload, verified)).toThrow(expect.objectContaining({ code: 'SignatureDoesNotMatch' }));
    if (trailer) {
      const forgedTrailer = body(chunks).toString('latin1').replace('sOO8/Q==', 'AAAAAA==');
      expect(() => decodeAwsChunked(Buffer.from(forgedTrailer, 'latin1'), payload, verified)).toThrow(
        expect.objectContaining({ code: 'SignatureDoesNotMatch' }),
      );
    }
  });
});

describe('multipart bookkeeping (what s3rver lacks: list, abort, NoSuchUpload, part checks)', () => {
  it('lists open uploads by prefix, aborts one (204, parts discarded), then refuses it with NoSuchUpload', async () => {
    const c = client();
    const a = await createUpload(c, 'mpu-list/a.ndjson');
    const b = await createUpload(c, 'mpu-list/b.ndjson');
    const other = await createUpload(c, 'mpu-other/c.ndjson');
    await c.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu-list/a.ndjson', UploadId: a, PartNumber: 1, Body: Buffer.from('part one') }),
    );

    const listed = await c.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'mpu-list/' }));
    expect(listed.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([
      ['mpu-list/a.ndjson', a],
      ['mpu-list/b.ndjson', b],
    ]);
    expect(listed.IsTruncated).toBe(false);
    for (const u of listed.Uploads!) expect(Math.abs(u.Initiated!.getTime() - Date.now())).toBeLessThan(60_000);
    expect((await server.incompleteUploads(BUCKET)).map((u) => [u.key, u.uploadId, u.parts])).toEqual([
      ['mpu-list/a.ndjson', a, 1],
      ['mpu-list/b.ndjson', b, 0],
      ['mpu-other/c.ndjson', other, 0],
    ]);
    const paged = await c.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, MaxUploads: 1 }));
    expect(paged).toMatchObject({ IsTruncated: true, NextKeyMarker: 'mpu-list/a.ndjson', NextUploadIdMarker: a });
    expect(paged.Uploads).toHaveLength(1);

    const uploadDir = path.join(server.directory, BUCKET, '._S3rver_uploads', a);
    expect(existsSync(path.join(uploadDir, '1'))).toBe(true);
    const aborted = await c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu-list/a.ndjson', UploadId: a }));
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(existsSync(uploadDir)).toBe(false);

    const noSuchUpload = { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } };
    await expect(
      c.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu-list/a.ndjson', UploadId: a, PartNumber: 2, Body: Buffer.from('late') })),
    ).rejects.toMatchObject(noSuchUpload);
    await expect(
      c.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'mpu-list/a.ndjson',
          UploadId: a,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: `"${md5Hex(Buffer.from('part one'))}"` }] },
        }),
      ),
    ).rejects.toMatchObject(noSuchUpload);
    await expect(c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu-list/a.ndjson', UploadId: a }))).rejects.toMatchObject(
      noSuchUpload,
    );
    // An upload id is bound to its key, and made-up ids do not exist.
    await expect(
      c.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu-list/not-b.ndjson', UploadId: b, PartNumber: 1, Body: Buffer.from('x') })),
    ).rejects.toMatchObject(noSuchUpload);
    await expect(
      c.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'mpu-list/b.ndjson', UploadId: '0'.repeat(32) })),
    ).rejects.toMatchObject(noSuchUpload);
    expect(await server.listKeys(BUCKET, 'mpu-list/')).toEqual([]); // the late part made no object
    expect(existsSync(uploadDir)).toBe(false); // …nor brought the upload back

    const after = await c.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'mpu-list/' }));
    expect(after.Uploads?.map((u) => u.UploadId)).toEqual([b]);
    await expect(c.send(new ListMultipartUploadsCommand({ Bucket: 'no-such-bucket' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });

    await expect(expectNoIncompleteUploads(server, { bucket: BUCKET })).rejects.toThrow(
      /found 2:\n.*mpu-list\/b\.ndjson uploadId=.* parts=0[\s\S]*mpu-other\/c\.ndjson/,
    );
    await c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu-list/b.ndjson', UploadId: b }));
    await c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu-other/c.ndjson', UploadId: other }));
    await expectNoIncompleteUploads(server);
    expect(await server.incompleteUploads()).toEqual([]);
  });

  it('gives parts and the completed object S3 ETags, and completing removes the upload from the list', async () => {
    const c = client();
    const key = 'mpu-etag/two-parts.bin';
    const part1 = randomBytes(5 * MiB);
    const part2 = randomBytes(1234);
    const id = await createUpload(c, key);
    const up1 = await c.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 1, Body: part1, ContentMD5: md5B64(part1) }),
    );
    const up2 = await c.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 2, Body: part2, ContentMD5: md5B64(part2) }),
    );
    expect(up1.ETag).toBe(`"${md5Hex(part1)}"`);
    expect(up2.ETag).toBe(`"${md5Hex(part2)}"`);

    const parts = await c.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([
      [1, up1.ETag, part1.length],
      [2, up2.ETag, part2.length],
    ]);

    const done = await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: id,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: up1.ETag },
            { PartNumber: 2, ETag: up2.ETag },
          ],
        },
      }),
    );
    const multipartEtag = `"${md5Hex(Buffer.concat([md5(part1), md5(part2)]))}-2"`;
    expect(done.ETag).toBe(multipartEtag);
    expect(done.ETag).not.toBe(`"${md5Hex(Buffer.concat([part1, part2]))}"`); // what stock s3rver answers
    expect((await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag).toBe(multipartEtag);
    const listedObject = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'mpu-etag/' }));
    expect(listedObject.Contents?.map((o) => o.ETag)).toEqual([multipartEtag]);
    expect(sha256(await server.getObject(BUCKET, key))).toBe(sha256(Buffer.concat([part1, part2])));
    expect(await server.incompleteUploads(BUCKET)).toEqual([]);
    await expect(c.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id }))).rejects.toMatchObject({ name: 'NoSuchUpload' });

    // A single PutObject keeps the plain MD5 ETag.
    const put = await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mpu-etag/single.bin', Body: part2 }));
    expect(put.ETag).toBe(`"${md5Hex(part2)}"`);
  });

  it('refuses a completion S3 would refuse (InvalidPart, InvalidPartOrder, EntityTooSmall); the upload stays open', async () => {
    const c = client();
    const key = 'mpu-invalid/x.bin';
    const small = Buffer.from('too small for a middle part');
    const id = await createUpload(c, key);
    const e1 = (await c.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 1, Body: small }))).ETag!;
    const e2 = (await c.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 2, Body: small }))).ETag!;
    const complete = (Parts: { PartNumber: number; ETag: string }[]) =>
      c.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id, MultipartUpload: { Parts } }));

    await expect(complete([{ PartNumber: 1, ETag: `"${'0'.repeat(32)}"` }])).rejects.toMatchObject({
      name: 'InvalidPart',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(complete([{ PartNumber: 3, ETag: e1 }])).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(
      complete([
        { PartNumber: 2, ETag: e2 },
        { PartNumber: 1, ETag: e1 },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    await expect(
      complete([
        { PartNumber: 1, ETag: e1 },
        { PartNumber: 2, ETag: e2 },
      ]),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
    expect((await server.incompleteUploads(BUCKET)).map((u) => [u.uploadId, u.parts])).toEqual([[id, 2]]);
    expect(await server.listKeys(BUCKET, 'mpu-invalid/')).toEqual([]);

    // The last part may be small: a one-part completion of part 2 alone is valid.
    const done = await complete([{ PartNumber: 2, ETag: e2 }]);
    expect(done.ETag).toBe(`"${md5Hex(md5(small))}-1"`);
    expect(await server.getObject(BUCKET, key)).toEqual(small);
    await expectNoIncompleteUploads(server, { bucket: BUCKET });
  });
});

describe('Content-MD5 (s3rver ignores it)', () => {
  it('answers 400 BadDigest to a PutObject or UploadPart whose body does not match, and stores nothing', async () => {
    const c = client();
    const body = Buffer.from('the real bytes');
    const wrong = md5B64(Buffer.from('other bytes'));
    const err = await c
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'md5/put.txt', Body: body, ContentMD5: wrong }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'BadDigest',
      $metadata: { httpStatusCode: 400 },
      ExpectedDigest: wrong,
      CalculatedDigest: md5B64(body),
    });
    await expect(
      c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'md5/put.txt', Body: body, ContentMD5: 'not-an-md5' })),
    ).rejects.toMatchObject({ name: 'InvalidDigest', $metadata: { httpStatusCode: 400 } });
    expect(await server.listKeys(BUCKET, 'md5/')).toEqual([]);
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'md5/put.txt', Body: body, ContentMD5: md5B64(body) }));
    expect(await server.getObject(BUCKET, 'md5/put.txt')).toEqual(body);

    const id = await createUpload(c, 'md5/parts.bin');
    await expect(
      c.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'md5/parts.bin', UploadId: id, PartNumber: 1, Body: body, ContentMD5: wrong })),
    ).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    expect((await c.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'md5/parts.bin', UploadId: id }))).Parts ?? []).toEqual([]);
    // The same refusal for a streamed (aws-chunked) part.
    const chunked = client({ requestChecksumCalculation: 'WHEN_SUPPORTED' });
    await expect(
      chunked.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'md5/parts.bin',
          UploadId: id,
          PartNumber: 1,
          Body: Readable.from([body]),
          ContentLength: body.length,
          ContentMD5: wrong,
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest' });
    const ok = await c.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'md5/parts.bin', UploadId: id, PartNumber: 1, Body: body, ContentMD5: md5B64(body) }),
    );
    expect(ok.ETag).toBe(`"${md5Hex(body)}"`);
    await c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'md5/parts.bin', UploadId: id }));
  });
});

describe('request counters', () => {
  it('counts every UploadPart request per upload and part, and whether it was answered 2xx', async () => {
    const c = client();
    const body = Buffer.from('counted part');
    const id = await createUpload(c, 'count/a.bin');
    const other = await createUpload(c, 'count/b.bin');
    const part = (uploadId: string, key: string, n: number, md5sum = md5B64(body)) =>
      c
        .send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ContentMD5: md5sum }))
        .catch((e: unknown) => e);
    await part(id, 'count/a.bin', 1);
    await part(id, 'count/a.bin', 2, md5B64(Buffer.from('nope'))); // 400 BadDigest
    await part(id, 'count/a.bin', 2);
    await part(id, 'count/a.bin', 1); // a retry of a stored part overwrites it
    await part(other, 'count/b.bin', 7);
    const bad = client({ credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'wrong-secret' } });
    await bad
      .send(new UploadPartCommand({ Bucket: BUCKET, Key: 'count/a.bin', UploadId: id, PartNumber: 3, Body: body }))
      .catch(() => undefined);

    expect(server.uploadPartRequests(id)).toEqual([
      { uploadId: id, key: 'count/a.bin', partNumber: 1, requests: 2, succeeded: 2, statuses: [200, 200] },
      { uploadId: id, key: 'count/a.bin', partNumber: 2, requests: 2, succeeded: 1, statuses: [400, 200] },
      { uploadId: id, key: 'count/a.bin', partNumber: 3, requests: 1, succeeded: 0, statuses: [403] },
    ]);
    expect(server.uploadPartRequests().map((p) => [p.uploadId, p.partNumber])).toEqual([
      [id, 1],
      [id, 2],
      [id, 3],
      [other, 7],
    ]);
    expect(server.requestLog().filter((r) => r.operation === 'CreateMultipartUpload')).toHaveLength(2);
    server.resetCounters();
    expect(server.uploadPartRequests()).toEqual([]);
    expect(server.requestLog()).toEqual([]);
    await c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'count/a.bin', UploadId: id }));
    await c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'count/b.bin', UploadId: other }));
    expect(server.requestLog().map((r) => [r.operation, r.status])).toEqual([
      ['AbortMultipartUpload', 204],
      ['AbortMultipartUpload', 204],
    ]);
  });

  it('names operations the way the fault rules match them', () => {
    expect(classifyS3Request('PUT', '/b/k%20x?partNumber=3&uploadId=abc&x-id=UploadPart')).toEqual({
      operation: 'UploadPart',
      bucket: 'b',
      key: 'k x',
      uploadId: 'abc',
      partNumber: 3,
    });
    expect(classifyS3Request('PUT', '/b/k', { 'x-amz-copy-source': '/b/o' }).operation).toBe('CopyObject');
    expect(classifyS3Request('PUT', '/b/dir/k?x-id=PutObject').operation).toBe('PutObject');
    expect(classifyS3Request('POST', '/b/k?uploads').operation).toBe('CreateMultipartUpload');
    expect(classifyS3Request('POST', '/b/k?uploadId=abc').operation).toBe('CompleteMultipartUpload');
    expect(classifyS3Request('DELETE', '/b/k?uploadId=abc').operation).toBe('AbortMultipartUpload');
    expect(classifyS3Request('GET', '/b/k?uploadId=abc').operation).toBe('ListParts');
    expect(classifyS3Request('GET', '/b?uploads&prefix=a').operation).toBe('ListMultipartUploads');
    expect(classifyS3Request('GET', '/b?list-type=2&prefix=a').operation).toBe('ListObjects');
    expect(classifyS3Request('HEAD', '/b/k').operation).toBe('HeadObject');
    expect(classifyS3Request('GET', '/b/k?tagging').operation).toBe('Other');
    expect(classifyS3Request('PUT', '/b').operation).toBe('CreateBucket');
  });
});

describe('fault injection', () => {
  const once = (): Partial<S3ClientConfig> => ({ maxAttempts: 1 });

  it('answers an S3 error on every n-th matching request; clearFaults stops it', async () => {
    const c = client(once());
    server.injectFaults([{ operation: 'PutObject', every: 10, fault: { status: 500, code: 'InternalError' } }]);
    const outcomes: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const r = await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `faults/every/${i}`, Body: 'x' })).then(
        () => 'ok',
        (error: unknown) => {
          const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
          return `${String(e.$metadata?.httpStatusCode)} ${e.name}`;
        },
      );
      outcomes.push(r);
    }
    expect(outcomes.map((o, i) => (o === 'ok' ? null : [i + 1, o])).filter(Boolean)).toEqual([
      [10, '500 InternalError'],
      [20, '500 InternalError'],
    ]);
    expect(server.faultsInjected()).toBe(2);
    expect(server.injectedFaults().map((f) => [f.rule, f.kind, f.operation, f.key])).toEqual([
      [0, 'status', 'PutObject', 'faults/every/10'],
      [0, 'status', 'PutObject', 'faults/every/20'],
    ]);
    expect(await server.listKeys(BUCKET, 'faults/every/')).toHaveLength(18); // the faulted ones never reached s3rver
    // Other operations are not hit.
    expect(await server.getObject(BUCKET, 'faults/every/1')).toEqual(Buffer.from('x'));

    server.clearFaults();
    for (let i = 21; i <= 30; i++) await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `faults/every/${i}`, Body: 'x' }));
    expect(server.faultsInjected()).toBe(2);
  });

  it('limits a rule to one part number and `times`; the SDK retries through it (503 SlowDown, then 500)', async () => {
    const c = client({ maxAttempts: 3 });
    const body = Buffer.from('retried part');
    const id = await createUpload(c, 'faults/retry.bin');
    server.injectFaults([
      { operation: 'UploadPart', partNumber: 2, times: 1, fault: { status: 503, code: 'SlowDown' } },
      { operation: 'UploadPart', partNumber: 2, times: 1, fault: { status: 500, code: 'InternalError' } },
    ]);
    for (const n of [1, 2, 3]) {
      await c.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'faults/retry.bin',
          UploadId: id,
          PartNumber: n,
          Body: body,
          ContentMD5: md5B64(body),
        }),
      );
    }
    expect(server.uploadPartRequests(id).map((p) => [p.partNumber, p.requests, p.succeeded, p.statuses])).toEqual([
      [1, 1, 1, [200]],
      [2, 3, 1, [503, 500, 200]],
      [3, 1, 1, [200]],
    ]);
    expect(server.injectedFaults().map((f) => [f.rule, f.partNumber])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    // Both rules are spent: a fourth request for part 2 goes through.
    await c.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'faults/retry.bin', UploadId: id, PartNumber: 2, Body: body }));
    expect(server.faultsInjected()).toBe(2);
    await c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'faults/retry.bin', UploadId: id }));
  });

  it('resets the connection part-way through the request body, storing nothing', async () => {
    const body = randomBytes(2 * MiB);
    const id = await createUpload(client(), 'faults/reset.bin');
    server.injectFaults([{ operation: 'UploadPart', times: 1, fault: { reset: true } }]);
    const err = (await client(once())
      .send(new UploadPartCommand({ Bucket: BUCKET, Key: 'faults/reset.bin', UploadId: id, PartNumber: 1, Body: body }))
      .catch((e: unknown) => e)) as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    expect(err).toBeInstanceOf(Error);
    expect(`${err.code} ${err.message}`).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    expect(err.$metadata?.httpStatusCode).toBeUndefined(); // no answer at all
    expect(server.uploadPartRequests(id)).toMatchObject([{ partNumber: 1, requests: 1, succeeded: 0, statuses: [null] }]);
    expect((await client().send(new ListPartsCommand({ Bucket: BUCKET, Key: 'faults/reset.bin', UploadId: id }))).Parts ?? []).toEqual([]);

    // With retries (the SDK's default) the part gets through on the next attempt.
    server.injectFaults([{ operation: 'UploadPart', times: 1, fault: { reset: true } }]);
    await client().send(new UploadPartCommand({ Bucket: BUCKET, Key: 'faults/reset.bin', UploadId: id, PartNumber: 1, Body: body }));
    expect(server.uploadPartRequests(id)[0].statuses).toEqual([null, null, 200]);
    await client().send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'faults/reset.bin', UploadId: id }));
  });

  it('a reset comes while the client is still sending: after `afterBytes`, not at the end', async () => {
    server.injectFaults([{ operation: 'PutObject', fault: { reset: true, afterBytes: 64 * 1024 } }]);
    const total = 4 * MiB;
    const signed = await signer().sign(
      requestFor('PUT', `/${BUCKET}/faults/raw-reset.bin`, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(total) }),
    );
    const socket = net.connect(server.port, '127.0.0.1');
    const head = `PUT ${signed.path} HTTP/1.1\r\n${Object.entries(signed.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`;
    let sent = 0;
    const outcome = await new Promise<{ error?: string; answer: string }>((resolve) => {
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code, answer }));
      socket.on('close', () => resolve({ answer }));
      socket.write(head);
      // Send the body slowly, 64 KiB every 20 ms, so a reset can only come from the server mid-body.
      const piece = Buffer.alloc(64 * 1024);
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= total) {
          clearInterval(timer);
          return;
        }
        socket.write(piece);
        sent += piece.length;
      }, 20);
    });
    expect(outcome.error).toMatch(/ECONNRESET|EPIPE/);
    expect(outcome.answer).toBe('');
    expect(sent).toBeLessThan(total / 2);
    expect(server.requestLog()).toMatchObject([{ operation: 'PutObject', status: null, fault: 'reset' }]);
    expect(await server.listKeys(BUCKET, 'faults/raw-reset')).toEqual([]);
  });

  it('stalls: takes the request and never answers, until the client times out', async () => {
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'faults/stall.txt', Body: 'still here' }));
    server.injectFaults([
      { operation: ['UploadPart', 'UploadPartCopy'], fault: { stall: true } },
      { operation: 'HeadObject', times: 1, fault: { stall: true } },
    ]);
    const impatient = client({ maxAttempts: 1, requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true } });
    const started = Date.now();
    await expect(impatient.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'faults/stall.txt' }))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    // The rule is spent: the next HEAD is answered.
    expect((await impatient.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'faults/stall.txt' }))).ContentLength).toBe(10);

    const id = await createUpload(client(), 'faults/stall.bin');
    await expect(
      impatient.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: 'faults/stall.bin', UploadId: id, PartNumber: 1, Body: randomBytes(MiB) }),
      ),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(server.uploadPartRequests(id)).toMatchObject([{ requests: 1, succeeded: 0, statuses: [null] }]);
    expect(server.injectedFaults().map((f) => [f.kind, f.operation])).toEqual([
      ['stall', 'HeadObject'],
      ['stall', 'UploadPart'],
    ]);
    await client().send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'faults/stall.bin', UploadId: id }));
  });

  it('delays an answer by delayMs, then answers it normally', async () => {
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'faults/slow.txt', Body: 'slow' }));
    server.resetCounters();
    server.injectFaults([{ operation: 'GetObject', key: 'faults/slow.txt', times: 1, fault: { delayMs: 500 } }]);
    let started = Date.now();
    expect(await server.getObject(BUCKET, 'faults/slow.txt')).toEqual(Buffer.from('slow'));
    const delayed = Date.now() - started;
    started = Date.now();
    expect(await server.getObject(BUCKET, 'faults/slow.txt')).toEqual(Buffer.from('slow'));
    const normal = Date.now() - started;
    expect(delayed).toBeGreaterThanOrEqual(490);
    expect(normal).toBeLessThan(delayed - 200);
    expect(server.requestLog().map((r) => [r.operation, r.status, r.fault])).toEqual([
      ['GetObject', 200, 'delay'],
      ['GetObject', 200, undefined],
    ]);
  });

  it('refuses malformed rules', () => {
    expect(() => server.injectFaults([{ operation: 'PutObject', every: 0, fault: { stall: true } }])).toThrow(/every/);
    expect(() => server.injectFaults([{ operation: 'PutObject', fault: {} as never }])).toThrow(/unknown fault/);
  });
});

// ───────────────────────────── helpers ─────────────────────────────

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** An independent SigV4 signer for hand-made requests. */
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

async function createUpload(c: S3Client, key: string): Promise<string> {
  return (await c.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId!;
}

function md5(b: Buffer): Buffer {
  return createHash('md5').update(b).digest();
}

function md5Hex(b: Buffer): string {
  return md5(b).toString('hex');
}

function md5B64(b: Buffer): string {
  return md5(b).toString('base64');
}

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
  private readonly h: Hash | ReturnType<typeof createHmac>;
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
