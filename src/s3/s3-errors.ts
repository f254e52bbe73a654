import { S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Credentials } from './s3-client.factory';

/** S3 error codes that say "try again" rather than "this will never work". */
const TRANSIENT_S3_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'BadDigest', // the part was damaged on its way: sending it again fixes it
  'XAmzContentSHA256Mismatch',
]);
/** Socket errors worth another attempt. */
const TRANSIENT_NETWORK =
  /\b(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|socket hang up)\b/;
/** Socket errors named in a monitor's `error` ("Could not reach S3 …: ECONNREFUSED."). */
const NETWORK_CODE = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/;

function errorText(error: unknown): string {
  return `${(error as { code?: string }).code ?? ''} ${error instanceof Error ? `${error.name} ${error.message}` : String(error)}`;
}

/**
 * Whether an S3 request's error may pass on its own: S3 5xx and throttling, socket errors,
 * timeouts. Access denied, no such bucket or key, a wrong region and the like are final.
 */
export function isTransientS3Error(error: unknown): boolean {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata?.httpStatusCode ?? 0;
    return status >= 500 || TRANSIENT_S3_CODES.has(error.name);
  }
  return TRANSIENT_NETWORK.test(errorText(error)) || (error instanceof Error && error.name === 'TimeoutError');
}

/** The socket error code an S3 request failed with (the SDK may keep it only in the message), if any. */
export function networkErrorCode(error: unknown): string | null {
  return NETWORK_CODE.exec(errorText(error))?.[1] ?? null;
}

/** What to check after S3 refused a request, for a monitor's `error` ('' when nothing in particular). */
export function s3RejectionHint(error: S3ServiceException): string {
  if (['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied', 'Forbidden'].includes(error.name)) {
    return ' Check s3AccessKeyId, s3SecretAccessKey and the bucket policy.';
  }
  if (error.name === 'NoSuchBucket') return ' Check the bucket name in s3Path.';
  if (error.name === 'NoSuchKey' || error.name === 'NotFound') return ' Check the object key in s3Path.';
  return '';
}

/**
 * Replaces any occurrence of the credentials in a message (belt and braces: SDK messages do not
 * contain them) and cuts it to 1,000 characters. Values under 8 characters are left alone: they
 * would blank out ordinary words.
 */
export function redactCredentials(message: string, credentials: S3Credentials | null): string {
  let text = message;
  for (const secret of [credentials?.secretAccessKey, credentials?.accessKeyId]) {
    if (secret && secret.length >= 8) {
      text = text.split(secret).join('***');
    }
  }
  return text.slice(0, 1000);
}
