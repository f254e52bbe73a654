import http from 'node:http';
import type { CreatedProject } from '../src/projects/projects.service';
import { auth, startTestApp, TestApp } from './support/test-app';
import { bulkLoad } from './support/bulk-load';

const EVENTS = 10_000;

/** GETs `path`, pausing the socket for `pauseMs` after the first chunk; resolves with the whole body. */
function slowGet(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  pauseMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${baseUrl}${path}`, { headers }, (response) => {
      const chunks: Buffer[] = [];
      let paused = false;
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (!paused) {
          paused = true;
          response.pause();
          setTimeout(() => response.resume(), pauseMs);
        }
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/**
 * A small export too large for the read-ahead (20 MB here) is streamed from an open cursor for as
 * long as the client takes to read it. PostgreSQL counts the whole cursor as one statement, so
 * under the API's statement timeout a client slower than that got a 200 cut off mid-JSON.
 */
describe('a large small export read slowly', () => {
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api', QUERY_STATEMENT_TIMEOUT_MS: '1500', EXPORT_STREAM_MIN_BYTES_PER_SECOND: '0' });
    project = await t.createProject();
    await bulkLoad(
      t.config.database.url,
      `INSERT INTO events (project_id, collection, event_id, "timestamp", properties)
         SELECT $1, 'big', to_jsonb(n), timestamptz '2026-01-01T00:00:00Z' + n * interval '1 second',
                jsonb_build_object('n', n, 'note', repeat('x', 2000))
           FROM generate_series(1, $2::int) AS n`,
      [project.projectId, EVENTS],
    );
  }, 120_000);
  afterAll(() => t.close());

  it('arrives whole even when the client pauses longer than QUERY_STATEMENT_TIMEOUT_MS', async () => {
    const res = await slowGet(t.baseUrl, '/events/big/export', auth(project, 'query'), 4000);
    expect(res.status).toBe(200);
    const results = (JSON.parse(res.body) as { results: Array<{ n: number }> }).results;
    expect(results).toHaveLength(EVENTS);
    expect(results[EVENTS - 1].n).toBe(EVENTS);
  }, 60_000);
});
