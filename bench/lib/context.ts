import { Client } from 'pg';
import type { Dataset } from './dataset';
import type { HttpClient } from './http';
import type { BenchOptions } from './options';
import type { Child, RssSampler, S3Process } from './processes';

/** The project the service's data lives in, with its keys (as `POST /projects` answered). */
export interface BenchProject {
  projectId: string;
  keys: { master: string; pushQuery: string; push: string; query: string };
}

/** What every benchmark gets: the data set, the running service, the S3 server, and database access. */
export interface BenchContext {
  options: BenchOptions;
  dataset: Dataset;
  /** The API process (ROLE=api), over HTTP. */
  http: HttpClient;
  api: Child;
  /** The export worker process (ROLE=worker) and its RSS sampler (both replaced by `replaceWorker`). */
  worker: Child;
  workerRss: RssSampler;
  /**
   * Stops the export worker (`SIGTERM`: gracefully; `SIGKILL`: at once, as a crash) and starts a new one
   * with these extra environment variables; `worker` and `workerRss` then follow the new process.
   */
  replaceWorker(extraEnv: Record<string, string>, signal: 'SIGTERM' | 'SIGKILL'): Promise<Child>;
  s3: S3Process;
  project: BenchProject;
  /** URL of the bench database, for the baselines' own `pg` connections. */
  databaseUrl: string;
  /** A connection for set-up and housekeeping (not used for timed work). */
  admin: Client;
  log(message: string): void;
}

/** Headers authenticating as the project with one of its keys. */
export function authHeaders(project: BenchProject, key: keyof BenchProject['keys']): Record<string, string> {
  return { 'X-Project-Id': project.projectId, 'X-Api-Key': project.keys[key] };
}

/** A connected `pg` client on the bench database (for one baseline's timed work). */
export async function connect(databaseUrl: string): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}
