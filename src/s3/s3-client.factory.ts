import { S3Client } from '@aws-sdk/client-s3';
import type { S3Location } from './s3-location';

/** S3 credentials of one export (decrypted only inside the worker, never logged). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The one place S3 clients are made. Path-style for S3-compatible endpoints; region redirects
 * followed for AWS (an `https://<bucket>.s3.amazonaws.com/` path names no region); checksums only
 * when required (s3rver stores aws-chunked framing otherwise, as test/s3-server.e2e-spec.ts shows); bounded retries and
 * timeouts (`requestTimeoutMs` per request, enforced as an error) so a wrong or unreachable endpoint fails
 * within about a minute.
 */
export function createS3Client(location: S3Location, credentials: S3Credentials, requestTimeoutMs = 60_000): S3Client {
  return new S3Client({
    region: location.region,
    ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
    credentials,
    followRegionRedirects: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    // throwOnRequestTimeout: without it the SDK only logs a warning when requestTimeout passes.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
  });
}
