/** The multipart uploads a test S3 server holds open (its IncompleteUpload, reduced to what is reported). */
export interface OpenUpload {
  bucket: string;
  key: string;
  uploadId: string;
  parts: number;
  initiated: Date;
}

/** A server startS3Server started, and the uploads it still held open when it was closed (null while it runs). */
export interface StartedServer {
  incomplete: () => Promise<OpenUpload[]>;
  leftAtClose: OpenUpload[] | null;
}

/** Every server started in this module registry (one per jest test file). Free of imports, so the jest setup can read it cheaply. */
export const startedServers = new Set<StartedServer>();

/**
 * The multipart uploads left open in every server started (and not forgotten): those a closed
 * server held when it closed, and those a running one holds now. The test suite asserts `[]` after
 * each test file (test/support/no-orphaned-uploads.ts). `forget` drops the servers from the list.
 */
export async function uploadsLeftOpen(opts: { forget?: boolean } = {}): Promise<OpenUpload[]> {
  const left: OpenUpload[] = [];
  for (const server of startedServers) {
    left.push(...(server.leftAtClose ?? (await server.incomplete())));
    if (opts.forget) startedServers.delete(server);
  }
  return left;
}
