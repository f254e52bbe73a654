/**
 * The benchmark's S3 server as a process of its own (`node dist/bench/lib/s3-server-main.js`), so
 * its work (SigV4 checks, s3rver's disk writes) does not share an event loop with what is measured.
 * Reads BENCH_S3_BUCKET, BENCH_S3_ACCESS_KEY_ID and BENCH_S3_SECRET_ACCESS_KEY; prints one JSON line
 * `{"endpoint": "http://127.0.0.1:<port>"}` when listening; stops (removing its data) on SIGTERM.
 */
import { startS3Server } from '../../test/support/s3-server';

async function main(): Promise<void> {
  const server = await startS3Server({
    buckets: [process.env.BENCH_S3_BUCKET ?? 'bench'],
    accessKeyId: process.env.BENCH_S3_ACCESS_KEY_ID,
    secretAccessKey: process.env.BENCH_S3_SECRET_ACCESS_KEY,
  });
  // Replaces the preload's handler: remove s3rver's directory before exiting.
  process.removeAllListeners('SIGTERM');
  process.once('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
  process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint, directory: server.directory })}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
