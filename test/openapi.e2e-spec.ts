import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument } from '../src/app.setup';
import { startTestApp, TestApp } from './support/test-app';

describe('OpenAPI document', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('matches the committed openapi.json (run `npm run build && npm run openapi:sync` after changing the API)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8'));
    expect(buildOpenApiDocument(t.app)).toEqual(committed);
  });

  it('pre-fills no optional query parameter in Swagger UI: "Try it out" sends what the user typed, not an example', () => {
    // A regression: GET /projects' `cursor` and GET /exports' `collection` had examples, which Swagger UI
    // fills in, so "Try it out" listed an empty page. `limit` (20) and a sample `query` are meant to be tried.
    const doc = JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8')) as {
      paths: Record<
        string,
        Record<
          string,
          { parameters?: Array<{ in: string; name: string; required?: boolean; example?: unknown; schema?: { example?: unknown } }> }
        >
      >;
    };
    const prefilled = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        (operation.parameters ?? [])
          .filter(
            (p) =>
              p.in === 'query' &&
              p.required !== true &&
              (p.example ?? p.schema?.example) !== undefined &&
              !['limit', 'query'].includes(p.name),
          )
          .map((p) => `${method.toUpperCase()} ${path} ?${p.name}`),
      ),
    );
    expect(prefilled).toEqual([]);
  });

  it('serves Swagger UI at /docs and the document at /docs-json', async () => {
    const ui = await t.http.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
    const json = await t.http.get('/docs-json');
    expect(json.status).toBe(200);
    expect(json.body.paths['/events/{collection}/export/{id}'].get.responses['404']).toBeDefined();
  });

  it('documents every status each endpoint returns, with Connect error shapes', () => {
    const doc = buildOpenApiDocument(t.app) as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
    };
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path][method].responses).sort();
    expect(statuses('/events/{collection}', 'post')).toEqual(['200', '400', '401', '403', '413', '415', '422', '429', '503']);
    expect(statuses('/events', 'post')).toEqual(['200', '400', '401', '403', '413', '415', '429', '503']);
    expect(statuses('/events/{collection}/export', 'get')).toEqual(['200', '401', '403', '413', '422', '429', '503']);
    expect(statuses('/events/{collection}/export', 'post')).toEqual(['201', '400', '401', '403', '413', '415', '422', '429', '503']);
    expect(statuses('/events/{collection}/export/{id}', 'get')).toEqual(['200', '401', '403', '404', '422', '429', '503']);
    expect(statuses('/events/{collection}/export/{id}', 'delete')).toEqual(['200', '401', '403', '404', '409', '422', '429', '503']);
    expect(statuses('/exports', 'get')).toEqual(['200', '401', '403', '422', '429', '503']);
    expect(statuses('/events/{collection}', 'get')).toEqual(['200', '304', '401', '403', '413', '422', '429', '503']);
    expect(statuses('/collections/{collection}', 'delete')).toEqual(['204', '401', '403', '404', '422', '429', '503']);
    expect(statuses('/events/{collection}', 'delete')).toEqual(['204', '401', '403', '404', '422', '429', '503']);
    expect(statuses('/projects', 'post')).toEqual(['201', '400', '401', '403', '413', '415', '422', '429', '503']);
    expect(statuses('/projects', 'get')).toEqual(['200', '401', '403', '422', '429', '503']);
    expect(statuses('/projects/{projectId}/keys/reset', 'post')).toEqual(['200', '401', '403', '404', '429', '503']);
    expect(statuses('/health', 'get')).toEqual(['200', '503']);
    expect(statuses('/health/ready', 'get')).toEqual(['200', '503']);
    // Operators' endpoints outside the Connect API are described in docs/monitoring.md instead.
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/metrics') || path.startsWith('/admin'))).toEqual([]);
    const schemaOf = (path: string, method: string, status: string) =>
      doc.paths[path][method].responses[status].content?.['application/json'].schema.$ref;
    expect(schemaOf('/events/{collection}', 'post', '422')).toBe('#/components/schemas/ValidationErrorDto');
    expect(schemaOf('/events/{collection}/export/{id}', 'get', '404')).toBe('#/components/schemas/ErrorMessageDto');
    expect(schemaOf('/events/{collection}', 'get', '200')).toBe('#/components/schemas/QueryResponseDto');
    expect(schemaOf('/events/{collection}', 'get', '413')).toBe('#/components/schemas/ErrorMessageDto');
    expect(schemaOf('/collections/{collection}', 'delete', '404')).toBe('#/components/schemas/ErrorMessageDto');
    expect(schemaOf('/events/{collection}/export/{id}', 'delete', '200')).toBe('#/components/schemas/ExportStatusDto');
    expect(schemaOf('/events/{collection}/export/{id}', 'delete', '409')).toBe('#/components/schemas/ErrorMessageDto');
    expect(schemaOf('/exports', 'get', '200')).toBe('#/components/schemas/ExportListDto');
    expect(schemaOf('/exports', 'get', '422')).toBe('#/components/schemas/ValidationErrorDto');
    expect(schemaOf('/projects', 'get', '200')).toBe('#/components/schemas/ProjectListDto');
    expect(schemaOf('/projects/{projectId}/keys/reset', 'post', '200')).toBe('#/components/schemas/CreatedProjectDto');
    expect(schemaOf('/projects/{projectId}/keys/reset', 'post', '404')).toBe('#/components/schemas/ErrorMessageDto');
    // Credentials are security schemes (Swagger UI's Authorize), not parameters: X-Project-Id AND
    // X-Api-Key on project endpoints, X-Admin-Token on /projects, nothing on /health.
    const operation = (path: string, method: string) =>
      doc.paths[path][method] as unknown as {
        parameters?: Array<{ name: string }>;
        security?: unknown;
        responses: Record<string, { description: string }>;
      };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const op = operation(path, method);
        expect((op.parameters ?? []).map((p) => p.name)).not.toEqual(expect.arrayContaining(['X-Api-Key']));
        const expected =
          path === '/health' || path === '/health/ready'
            ? undefined
            : path.startsWith('/projects')
              ? [{ adminToken: [] }]
              : [{ apiKey: [], projectId: [] }];
        expect({ path, method, security: op.security }).toEqual({ path, method, security: expected });
      }
    }
    const schemes = (doc as unknown as { components: { securitySchemes: Record<string, unknown> } }).components.securitySchemes;
    expect(schemes).toEqual({
      projectId: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Project-Id' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }),
      adminToken: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' }),
    });
    // Each endpoint's 403 says which keys it takes, filtered keys' form included.
    const forbidden = (path: string, method: string) => operation(path, method).responses['403'].description;
    expect(forbidden('/events/{collection}', 'post')).toMatch(/filtered key with `"canPush": true`: `<IV: 32 hex characters>-<ciphertext/);
    expect(forbidden('/events/{collection}', 'get')).toMatch(/filtered key with `"canQuery": true`, whose `filters` are ANDed/);
    expect(forbidden('/collections/{collection}', 'delete')).toMatch(
      /This endpoint takes: The master key of the project \(no other key, filtered keys included\)\.$/,
    );
    expect(doc.paths['/events/{collection}/export'].post.responses['429']).toMatchObject({
      description: expect.stringContaining('EXPORT_MAX_PENDING_PER_PROJECT'),
    });
    // Every authenticated endpoint can answer 429 (rate limits), with Retry-After and RateLimit-*.
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (path === '/health' || path === '/health/ready') continue;
        expect(schemaOf(path, method, '429')).toBe('#/components/schemas/ErrorMessageDto');
        const headers = (operation.responses['429'] as { headers?: Record<string, unknown> }).headers ?? {};
        expect(Object.keys(headers).sort()).toEqual(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After']);
      }
    }
  });
});
