import { S3ServiceException } from '@aws-sdk/client-s3';
import type { CheckpointPart } from './export-checkpoints.repository';
import {
  ExportCancelledError,
  ExportDataChangedError,
  ExportStalledError,
  isTransientExportError,
  manifestKey,
  manifestQuery,
  resumePlan,
} from './export-runner';
import { retryDelayMs } from '../common';
import { S3RequestTimeoutError } from './s3-multipart-uploader';

const part = (partNumber: number, startAfterEventId: string | null, endEventId: string, isLast = false): CheckpointPart => ({
  partNumber,
  startAfterEventId,
  endEventId,
  events: 1,
  rawBytes: 1,
  bytes: 1,
  md5: 'x',
  etag: '"x"',
  isLast,
});

describe('resumePlan', () => {
  it('reads everything when nothing was acknowledged', () => {
    expect(resumePlan([])).toEqual([{ afterEventId: null, untilEventId: null, firstPartNumber: 1, lastPartNumber: null }]);
  });

  it('continues after the last acknowledged part', () => {
    expect(resumePlan([part(1, null, '"a"'), part(2, '"a"', '"b"')])).toEqual([
      { afterEventId: '"b"', untilEventId: null, firstPartNumber: 3, lastPartNumber: null },
    ]);
  });

  it('fills each gap left by parts that were in flight, between the acknowledged ones', () => {
    // Parts 1, 4 and 6 acknowledged; 2–3 and 5 were in flight when the worker died.
    expect(resumePlan([part(1, null, '"a"'), part(4, '"c"', '"d"'), part(6, '"e"', '"f"')])).toEqual([
      { afterEventId: '"a"', untilEventId: '"c"', firstPartNumber: 2, lastPartNumber: 3 },
      { afterEventId: '"d"', untilEventId: '"e"', firstPartNumber: 5, lastPartNumber: 5 },
      { afterEventId: '"f"', untilEventId: null, firstPartNumber: 7, lastPartNumber: null },
    ]);
    expect(resumePlan([part(2, '"a"', '"b"', true)])).toEqual([
      { afterEventId: null, untilEventId: '"a"', firstPartNumber: 1, lastPartNumber: 1 },
    ]);
  });

  it('has nothing left when the last part was acknowledged', () => {
    expect(resumePlan([part(1, null, '"a"'), part(2, '"a"', '"b"', true)])).toEqual([]);
  });
});

describe('isTransientExportError', () => {
  const s3Error = (name: string, status: number) =>
    new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });

  it.each([
    ['S3 500 InternalError', s3Error('InternalError', 500)],
    ['S3 503 SlowDown', s3Error('SlowDown', 503)],
    ['S3 400 RequestTimeout', s3Error('RequestTimeout', 400)],
    ['a connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a lost PostgreSQL connection', new Error('Connection terminated unexpectedly')],
    ['PostgreSQL shutting down', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a stalled attempt', new ExportStalledError('no progress for 1000 ms')],
    // AWS names resolve for every bucket, and endpoints are the operator's allow-list: a failed lookup is DNS trouble.
    ['a failed DNS lookup', Object.assign(new Error('getaddrinfo ENOTFOUND s3.example'), { code: 'ENOTFOUND' })],
    ['an S3 request timeout', new S3RequestTimeoutError('S3 did not answer within 60000 ms')],
  ])('retries %s', (_, error) => expect(isTransientExportError(error)).toBe(true));

  it.each([
    ['AccessDenied', s3Error('AccessDenied', 403)],
    ['InvalidAccessKeyId', s3Error('InvalidAccessKeyId', 403)],
    ['SignatureDoesNotMatch', s3Error('SignatureDoesNotMatch', 403)],
    ['NoSuchBucket', s3Error('NoSuchBucket', 404)],
    ['PermanentRedirect (a wrong region)', s3Error('PermanentRedirect', 301)],
    ['a statement timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['a cancel', new ExportCancelledError('The export was cancelled.')],
    ['changed data', new ExportDataChangedError('gone')],
    ['a bug', new TypeError('x is undefined')],
  ])('fails at once for %s', (_, error) => expect(isTransientExportError(error)).toBe(false));
});

describe('retryDelayMs', () => {
  it('doubles from the base up to the maximum, with up to half of it at random', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(retryDelayMs(20, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe('manifestKey', () => {
  it('sits next to the object', () => {
    expect(manifestKey('exports/abc.json')).toBe('exports/abc.manifest.json');
    expect(manifestKey('abc.json.gz')).toBe('abc.manifest.json');
  });
});

describe('manifestQuery', () => {
  const timeframe = { start: new Date('2015-07-28T00:00:00Z'), end: null };

  it('is one filter object in operator form when every path and operator is unique', () => {
    const filters = [
      { path: ['product'], operator: 'eq' as const, operand: 'apple' },
      { path: ['price'], operator: 'gt' as const, operand: 5 },
      { path: ['price'], operator: 'lt' as const, operand: 10 },
    ];
    expect(manifestQuery({ filters, timeframe, timezone: null })).toEqual({
      filter: { product: { eq: 'apple' }, price: { gt: 5, lt: 10 } },
      timeframe: { start: '2015-07-28T00:00:00.000Z', end: null },
    });
  });

  it("is an array of filter objects, all ANDed, when a path and operator repeat (a filtered key's and the request's)", () => {
    const filters = [
      { path: ['price'], operator: 'gt' as const, operand: 10 },
      { path: ['tenant'], operator: 'eq' as const, operand: 'acme' },
      { path: ['price'], operator: 'gt' as const, operand: 20 },
      { path: ['tenant'], operator: 'eq' as const, operand: 'x' },
      { path: ['price'], operator: 'gt' as const, operand: 30 },
    ];
    expect(manifestQuery({ filters, timeframe: null, timezone: null }).filter).toEqual([
      { price: { gt: 10 }, tenant: { eq: 'acme' } },
      { price: { gt: 20 }, tenant: { eq: 'x' } },
      { price: { gt: 30 } },
    ]);
  });

  it('takes constructor and toString as ordinary paths (regression: they wrote onto Object)', () => {
    const filters = [
      { path: ['constructor'], operator: 'eq' as const, operand: 1 },
      { path: ['toString'], operator: 'neq' as const, operand: 2 },
    ];
    const query = manifestQuery({ filters, timeframe: null, timezone: null });
    expect(JSON.parse(JSON.stringify(query.filter))).toEqual({ constructor: { eq: 1 }, toString: { neq: 2 } });
    expect((Object as unknown as Record<string, unknown>).eq).toBeUndefined();
  });
});
