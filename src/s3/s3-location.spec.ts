import { errorsOf } from '../../test/support/validation-errors';
import { parseS3ObjectPath, parseS3Path, S3Location } from './s3-location';

const ALLOWED = ['http://127.0.0.1:4569', 'https://minio.internal.example'];

describe('parseS3Path', () => {
  it.each<[string, S3Location]>([
    ['https://my-bucket.s3.amazonaws.com/exports/', { endpoint: null, region: 'us-east-1', bucket: 'my-bucket', prefix: 'exports/' }],
    [
      'https://my-bucket.s3.ap-southeast-2.amazonaws.com/a/b',
      { endpoint: null, region: 'ap-southeast-2', bucket: 'my-bucket', prefix: 'a/b/' },
    ],
    ['https://my-bucket.s3-eu-west-1.amazonaws.com/', { endpoint: null, region: 'eu-west-1', bucket: 'my-bucket', prefix: '' }],
    ['https://my.dotted.bucket.s3.amazonaws.com/x', { endpoint: null, region: 'us-east-1', bucket: 'my.dotted.bucket', prefix: 'x/' }],
    ['https://s3.amazonaws.com/my-bucket/exports', { endpoint: null, region: 'us-east-1', bucket: 'my-bucket', prefix: 'exports/' }],
    [
      'https://s3.us-west-2.amazonaws.com/my-bucket/deep//path/',
      { endpoint: null, region: 'us-west-2', bucket: 'my-bucket', prefix: 'deep/path/' },
    ],
    ['https://s3-us-gov-west-1.amazonaws.com/my-bucket', { endpoint: null, region: 'us-gov-west-1', bucket: 'my-bucket', prefix: '' }],
    ['s3://my-bucket/exports/2015', { endpoint: null, region: 'us-east-1', bucket: 'my-bucket', prefix: 'exports/2015/' }],
    ['s3://my-bucket', { endpoint: null, region: 'us-east-1', bucket: 'my-bucket', prefix: '' }],
    [
      'http://127.0.0.1:4569/local/exports/',
      { endpoint: 'http://127.0.0.1:4569', region: 'us-east-1', bucket: 'local', prefix: 'exports/' },
    ],
    [
      'https://minio.internal.example/bk1/with%20space/',
      { endpoint: 'https://minio.internal.example', region: 'us-east-1', bucket: 'bk1', prefix: 'with space/' },
    ],
  ])('%s', (s3Path, expected) => {
    expect(parseS3Path(s3Path, ALLOWED)).toEqual(expected);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.1:4570/local/',
    'http://localhost:4569/local/',
    'https://example.com/bucket/',
    'http://my-bucket.s3.amazonaws.com/',
    'https://my-bucket.s3.amazonaws.com:8443/',
    'https://my-bucket.s3.not-a-region.amazonaws.com/',
    'https://evil.com#.s3.amazonaws.com/',
    'https://ec2.us-east-1.amazonaws.com/bucket/',
    's3://UPPER/x',
    's3://ab/x',
    's3://a..b/x',
    's3://user:secret@bucket/x',
    's3://bucket/x?versionId=1',
    'ftp://bucket/x',
    'bucket/x',
    '',
    's3://bucket/%E0%A4%A',
    's3://bucket/a%00b',
    'http://127.0.0.1:4569/local/..%2fother%2fx',
    'http://127.0.0.1:4569/local/a/%2e%2e%2fb',
    // Dot segments that URL parsing would resolve into another bucket or prefix (regression: the
    // first five were accepted and wrote into the bucket `other`).
    'http://127.0.0.1:4569/local/../other/x/',
    'http://127.0.0.1:4569/local/%2e%2e/other/x/',
    'http://127.0.0.1:4569/local/%2E%2E/other/x/',
    'http://127.0.0.1:4569/local/.%2e/other/x/',
    'http://127.0.0.1:4569/local/%2e/x/',
    'http://127.0.0.1:4569/local\\..\\other/x/',
    's3://bucket/a/../x',
    'https://my-bucket.s3.amazonaws.com/a/./b',
    'https://s3.eu-west-1.amazonaws.com/bucket/../other/',
    's3://127.0.0.1/x',
    's3://bucket:9000/x',
  ])('refuses %j with 422 on s3Path', (s3Path) => {
    expect(errorsOf(() => parseS3Path(s3Path, ALLOWED))).toEqual([{ field: 's3Path', description: expect.any(String) }]);
  });
});

describe('parseS3ObjectPath', () => {
  it.each<[string, string, string]>([
    ['s3://mybucket/purchases.json', 'mybucket', 'purchases.json'],
    ['s3://mybucket/a//b/purchases.json.gz', 'mybucket', 'a/b/purchases.json.gz'],
    ['https://mybucket.s3.eu-west-1.amazonaws.com/in/file%20one.ndjson', 'mybucket', 'in/file one.ndjson'],
    ['http://127.0.0.1:4569/mybucket/events.json', 'mybucket', 'events.json'],
  ])('reads %j as bucket %s, key %s', (s3Path, bucket, key) => {
    const parsed = parseS3ObjectPath(s3Path, ALLOWED);
    expect([parsed.location.bucket, parsed.key, parsed.location.prefix]).toEqual([bucket, key, '']);
  });

  it.each([
    's3://mybucket',
    's3://mybucket/',
    's3://mybucket/folder/',
    'http://10.0.0.1/mybucket/a.json',
    `s3://mybucket/${'k'.repeat(1025)}`,
  ])('refuses %j with 422 on s3Path', (s3Path) => {
    expect(errorsOf(() => parseS3ObjectPath(s3Path, ALLOWED))).toEqual([{ field: 's3Path', description: expect.any(String) }]);
  });
});
