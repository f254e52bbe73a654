import { S3ServiceException } from '@aws-sdk/client-s3';
import { ImportStatusDto } from './dto/import-status.dto';
import {
  describeImportError,
  ImportCancelledError,
  ImportFormatError,
  ImportObjectChangedError,
  ImportStalledError,
  isTransientImportError,
} from './import-runner';
import { ImportRecord, ImportStatus } from './imports.repository';

const s3Error = (name: string, status: number, message = `${name} happened`) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });

const record: ImportRecord = {
  id: '55b80dd4eb6742481c62c05e',
  projectId: '55b80dd4eb6742481c62c05f',
  collection: 'purchases',
  s3Endpoint: null,
  s3Region: 'us-east-1',
  s3Bucket: 'mybucket',
  s3Key: 'purchases.json',
  status: ImportStatus.Running,
  error: null,
  createdAt: new Date('2015-04-01T00:32:45.000Z'),
  startedAt: new Date('2015-04-01T00:33:03.000Z'),
  finishedAt: null,
  attempts: 1,
  objectBytes: 10_000,
  objectEtag: '"abc"',
  gzip: false,
  positionBytes: 4243,
  readBytes: 4243,
  lineIndex: 10,
  importedEvents: 30_192,
  duplicateEvents: 2,
  eventErrorCount: 0,
  eventErrors: [],
};

describe('isTransientImportError', () => {
  it.each<[string, unknown, boolean]>([
    ['S3 500', s3Error('InternalError', 500), true],
    ['S3 SlowDown', s3Error('SlowDown', 503), true],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
    ['a stalled attempt', new ImportStalledError('no progress for 1000 ms'), true],
    ['access denied', s3Error('AccessDenied', 403), false],
    ['no such key', s3Error('NoSuchKey', 404), false],
    ['not NDJSON', new ImportFormatError('array'), false],
    ['a replaced object', new ImportObjectChangedError('changed'), false],
    ['a cancel', new ImportCancelledError('cancelled'), false],
  ])('%s → %s', (_, error, transient) => {
    expect(isTransientImportError(error)).toBe(transient);
  });
});

describe('describeImportError', () => {
  const secret = 'very-secret-access-key-0123456789';
  it('names the object, says what to check, and never holds the credentials', () => {
    const message = describeImportError(s3Error('SignatureDoesNotMatch', 403, `bad signature for ${secret}`), record, {
      accessKeyId: 'AKIAEXAMPLE1',
      secretAccessKey: secret,
    });
    expect(message).toBe(
      'S3 refused to read s3://mybucket/purchases.json: SignatureDoesNotMatch: bad signature for ***. Check s3AccessKeyId, s3SecretAccessKey and the bucket policy.',
    );
  });
  it('reads a bodiless 403 (HeadObject) as access denied and a 404 as no such object', () => {
    expect(describeImportError(s3Error('Unknown', 403, 'UnknownError'), record, null)).toMatch(
      /access denied \(HTTP 403\)\. Check s3AccessKeyId/,
    );
    expect(describeImportError(s3Error('NotFound', 404), record, null)).toBe(
      'S3 has no object s3://mybucket/purchases.json. Check the bucket and the object key in s3Path.',
    );
  });
  it('says the object changed on a 412 or a different ETag', () => {
    expect(describeImportError(s3Error('PreconditionFailed', 412), record, null)).toMatch(/changed while it was imported/);
    expect(describeImportError(new ImportObjectChangedError('x'), record, null)).toMatch(/changed while it was imported/);
  });
});

describe('ImportStatusDto.from', () => {
  it('gives the eleven fields of the docs, the rate per second since started and percent of bytes read', () => {
    expect(ImportStatusDto.from(record, new Date('2015-04-01T00:33:05.000Z'))).toEqual({
      collection: 'purchases',
      status: 'Running',
      created: '2015-04-01T00:32:45.000Z',
      started: '2015-04-01T00:33:03.000Z',
      finished: null,
      importedEvents: 30_192,
      duplicateEvents: 2,
      percentComplete: 42.43,
      insertRate: '15096/s',
      error: null,
      eventErrors: [],
    });
  });
  it('is 100 at Complete and 0/s before it started', () => {
    expect(
      ImportStatusDto.from({ ...record, status: ImportStatus.Complete, finishedAt: new Date('2015-04-01T00:33:04.000Z') }).percentComplete,
    ).toBe(100);
    expect(ImportStatusDto.from({ ...record, status: ImportStatus.Pending, startedAt: null }).insertRate).toBe('0/s');
  });
});
