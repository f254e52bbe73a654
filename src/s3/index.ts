/** The public face of s3/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { createS3Client } from './s3-client.factory';
export type { S3Credentials } from './s3-client.factory';
export { S3CredentialsDto } from './s3-credentials.dto';
export { isTransientS3Error, networkErrorCode, redactCredentials, s3RejectionHint } from './s3-errors';
export { parseS3ObjectPath, parseS3Path } from './s3-location';
export type { S3Location } from './s3-location';
