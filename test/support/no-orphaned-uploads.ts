import { uploadsLeftOpen } from './started-s3-servers';

/**
 * After each test file: no S3 server the file started holds an incomplete multipart upload (one
 * created and neither completed nor aborted), whether the file closed the server or not. An export
 * that fails, is cancelled or runs out of retries aborts its upload (docs/exports.md, "No orphaned
 * uploads"); a test that leaves one open on purpose aborts it before it ends.
 */
afterAll(async () => {
  const left = await uploadsLeftOpen({ forget: true });
  if (left.length > 0) {
    throw new Error(
      `${left.length} multipart upload(s) left open in the test S3 server(s):\n` +
        left.map((u) => `  ${u.bucket}/${u.key} uploadId=${u.uploadId} parts=${u.parts} initiated=${u.initiated.toISOString()}`).join('\n'),
    );
  }
});
