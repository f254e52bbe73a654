/**
 * `npm run s3:local`: a local S3-compatible server for trying S3 exports and imports by hand
 * (s3rver behind a proxy that verifies SigV4 signatures, so wrong credentials fail as on AWS). Runs
 * until Ctrl-C. Environment:
 * - S3_LOCAL_PORT: the port on 127.0.0.1 (default 4569). The service accepts only S3 endpoints it
 *   is told of: its S3_ALLOWED_ENDPOINTS must hold this server's origin, `http://127.0.0.1:<port>`
 *   (.env.example has http://127.0.0.1:4569), or exports to it answer 422.
 * - S3_LOCAL_BUCKET: the bucket created (default my-bucket).
 * - S3_LOCAL_DIR: where objects are kept, between runs too (default .s3data).
 * Example: `S3_LOCAL_PORT=4570 npm run s3:local`, with S3_ALLOWED_ENDPOINTS=http://127.0.0.1:4570 for the service.
 */
import 'dotenv/config'; // the service's .env: to check its S3_ALLOWED_ENDPOINTS
import '../src/quiet-aws-sdk';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startS3Server } from '../test/support/s3-server';

/** The usage text printed at start: the settings, and what the service needs to accept this server. */
function usage(port: number, origin: string): string {
  return [
    'npm run s3:local: a local S3-compatible server (Ctrl-C stops it).',
    `  S3_LOCAL_PORT=${port}    port on 127.0.0.1 (default 4569), e.g. S3_LOCAL_PORT=4570 npm run s3:local`,
    `  S3_LOCAL_BUCKET, S3_LOCAL_DIR: the bucket (default my-bucket) and the data directory (default .s3data)`,
    `  The service must allow this origin: S3_ALLOWED_ENDPOINTS must include ${origin} (in .env, or its environment),`,
    '  or exports and imports naming it answer 422.',
  ].join('\n');
}

async function main(): Promise<void> {
  const port = Number(process.env.S3_LOCAL_PORT ?? 4569);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`S3_LOCAL_PORT must be a port number (1-65535), not ${JSON.stringify(process.env.S3_LOCAL_PORT)}.`);
    process.exit(2);
  }
  console.log(usage(port, `http://127.0.0.1:${port}`));
  const bucket = process.env.S3_LOCAL_BUCKET ?? 'my-bucket';
  const directory = resolve(process.env.S3_LOCAL_DIR ?? '.s3data');
  mkdirSync(directory, { recursive: true });
  const server = await startS3Server({ port, directory, buckets: [bucket], accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret-key' });
  console.log(`S3-compatible server on ${server.endpoint}, bucket '${bucket}', data in ${directory}`);
  const allowed = (process.env.S3_ALLOWED_ENDPOINTS ?? '').split(',').map((origin) => origin.trim().replace(/\/+$/, ''));
  if (process.env.S3_ALLOWED_ENDPOINTS !== undefined && !allowed.includes(server.endpoint)) {
    console.log(`Note: S3_ALLOWED_ENDPOINTS here (${process.env.S3_ALLOWED_ENDPOINTS}) does not include ${server.endpoint}.`);
  }
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
