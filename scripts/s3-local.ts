/**
 * `npm run s3:local`: a local S3-compatible server for trying S3 exports by hand (s3rver behind a
 * proxy that verifies SigV4 signatures, so wrong credentials fail as on AWS). Runs until Ctrl-C.
 * Environment: S3_LOCAL_PORT (default 4569; it must be in the service's S3_ALLOWED_ENDPOINTS),
 * S3_LOCAL_BUCKET (default my-bucket), S3_LOCAL_DIR (default .s3data, kept between runs).
 */
import '../src/quiet-aws-sdk';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startS3Server } from '../test/support/s3-server';

async function main(): Promise<void> {
  const port = Number(process.env.S3_LOCAL_PORT ?? 4569);
  const bucket = process.env.S3_LOCAL_BUCKET ?? 'my-bucket';
  const directory = resolve(process.env.S3_LOCAL_DIR ?? '.s3data');
  mkdirSync(directory, { recursive: true });
  const server = await startS3Server({ port, directory, buckets: [bucket], accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret-key' });
  console.log(`S3-compatible server on ${server.endpoint}, bucket '${bucket}', data in ${directory}`);
  console.log('Export body for POST /events/<collection>/export:');
  console.log(
    JSON.stringify({
      s3Path: `${server.endpoint}/${bucket}/exports/`,
      s3AccessKeyId: server.accessKeyId,
      s3SecretAccessKey: server.secretAccessKey,
    }),
  );
  console.log(
    `Read an export back: curl -s ${server.endpoint}/${bucket}/exports/<id>.json is refused (unsigned); use any S3 client with these keys, or look in ${directory}/${bucket}/exports/`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
