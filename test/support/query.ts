import type { Response } from 'supertest';
import type { CreatedProject } from '../../src/projects/projects.service';
import { auth, TestApp } from './test-app';

/** Query and push helpers for the query e2e specs (test/query*.e2e-spec.ts). */
export interface QueryClient {
  /** Pushes a batch `{collection: [events]}` and expects every event to be stored. */
  push(batch: Record<string, unknown[]>): Promise<void>;
  /** `GET /events/:collection?query=<doc>` with the query key; a string `doc` is sent as is (relaxed JSON). */
  query(collection: string, doc?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Like `query`, expecting 200, returning the body. */
  ok(collection: string, doc: unknown): Promise<QueryBody>;
  /** Headers authenticating with the project's query key. */
  headers: Record<string, string>;
}

/** The body of a successful query (Connect docs, "Query results"). */
export interface QueryBody {
  metadata: { groups: string[]; interval: string | null; timezone: number | string | null };
  results: Array<Record<string, unknown>>;
}

export function queryClient(t: TestApp, project: CreatedProject): QueryClient {
  const client: QueryClient = {
    headers: auth(project, 'query'),
    async push(batch) {
      for (const [collection, events] of Object.entries(batch)) {
        for (let i = 0; i < events.length; i += 5000) {
          const res = await t.http
            .post('/events')
            .set(auth(project, 'push'))
            .send({ [collection]: events.slice(i, i + 5000) });
          expect(res.status).toBe(200);
          const results = Object.values(res.body as Record<string, Array<{ success: boolean; message?: string }>>).flat();
          expect(results.filter((r) => !r.success)).toEqual([]);
        }
      }
    },
    query(collection, doc, headers = {}) {
      const req = t.http.get(`/events/${collection}`).set(client.headers).set(headers);
      return doc === undefined ? req : req.query({ query: typeof doc === 'string' ? doc : JSON.stringify(doc) });
    },
    async ok(collection, doc) {
      const res = await client.query(collection, doc);
      if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.text}`);
      return res.body as QueryBody;
    },
  };
  return client;
}
