import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recreateDatabase } from '../scripts/lib/databases';
import type { CreatedProject } from '../src/projects/projects.service';
import { makeFilteredKey } from './support/filtered-keys';
import { freePort } from './support/ports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { testKeyPrefix } from './support/test-app';

/**
 * Logs of the real built service (docs/logging.md): `node dist/src/main.js` as a child process,
 * its stdout and stderr captured whole.
 */
const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');

async function until<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The service on its own database; `output()` is everything it wrote, stdout and stderr interleaved. */
interface Service {
  baseUrl: string;
  output(): string;
  stop(): Promise<void>;
}

async function startService(env: Record<string, string>, stdio?: number): Promise<Service> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does).`);
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ROLE: 'all', ...env };
  // The service must silence the AWS SDK's Node-version notice itself (scripts/test.sh sets it for jest).
  delete childEnv.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  delete childEnv.NODE_ENV;
  delete childEnv.TEST_LOG;
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: childEnv,
    stdio: stdio === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', stdio, stdio],
  });
  let captured = '';
  child.stdout?.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await until(
      'the service to answer /health',
      async () => {
        if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${captured}`);
        return fetch(`${baseUrl}/health`)
          .then((res) => (res.status === 200 ? true : null))
          .catch(() => null);
      },
      60_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    baseUrl,
    output: () => captured,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

type Line = Record<string, unknown>;

describe('logs (docs/logging.md)', () => {
  let s3: TestS3Server;
  let databaseUrl: string;
  const BUCKET = 'logging';
  const secretsKey = randomBytes(32).toString('hex');
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    // Credentials unique enough that finding them anywhere in the log means a leak.
    s3 = await startS3Server({
      buckets: [BUCKET],
      accessKeyId: 'AKIALOGGINGTEST3V7N1Q',
      secretAccessKey: 'logging-test-secret-2b8e4d6f0a1c3e5a7b9d',
    });
    databaseUrl = await recreateDatabase(process.env.DATABASE_URL!, `${new URL(process.env.DATABASE_URL!).pathname.slice(1)}_logging`);
  });
  afterAll(() => s3.close());

  describe('LOG_FORMAT=json', () => {
    let service: Service;
    let lines: Line[];
    let project: CreatedProject;
    let filteredKey: string;
    const wrongKey = `wrong-${randomBytes(16).toString('hex')}`;
    const bodyMarker = `body-marker-${randomBytes(8).toString('hex')}`;
    const queryMarker = `query-marker-${randomBytes(8).toString('hex')}`;
    /** Each request made: what it was, and what came back. */
    const requests: Array<{ method: string; route: string | null; status: number; requestId: string; given?: string; keyed: boolean }> = [];
    let exportId: string;
    let importId: string;

    /** Sends one request, recording its answer's X-Request-Id. */
    async function call(
      method: string,
      path: string,
      route: string | null,
      headers: Record<string, string>,
      body?: unknown,
    ): Promise<{ status: number; body: unknown; location: string | null }> {
      const res = await fetch(`${service.baseUrl}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toBeTruthy();
      // An access line names the project once its key was verified (and allowed).
      const keyed = 'X-Api-Key' in headers && res.status !== 401 && res.status !== 403;
      requests.push({ method, route, status: res.status, requestId: requestId!, given: headers['X-Request-Id'], keyed });
      return { status: res.status, body: text ? JSON.parse(text) : null, location: res.headers.get('location') };
    }
    const keyed = (key: string) => ({ 'X-Project-Id': project.projectId, 'X-Api-Key': key });
    const pathOf = (location: string) => new URL(location).pathname;

    beforeAll(async () => {
      service = await startService({
        DATABASE_URL: databaseUrl,
        QUEUE_PREFIX: testKeyPrefix('logging'),
        SECRETS_KEY: secretsKey,
        ADMIN_TOKEN: adminToken,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        S3_ALLOWED_ENDPOINTS: s3.endpoint,
      });
      try {
        const created = await call('POST', '/projects', '/projects', { 'X-Admin-Token': adminToken }, { name: 'logged' });
        expect(created.status).toBe(201);
        project = created.body as CreatedProject;
        filteredKey = makeFilteredKey({ filters: { tier: 'gold' }, canQuery: true, canPush: false }, project.keys.master);

        const pushed = await call(
          'POST',
          '/events/purchases',
          '/events/:collection',
          { ...keyed(project.keys.push), 'X-Request-Id': 'logging-push-1' },
          { tier: 'gold', note: bodyMarker, price: 1 },
        );
        expect(pushed.status).toBe(200);
        for (let i = 0; i < 4; i++) {
          expect(
            (await call('POST', '/events', '/events', keyed(project.keys.pushQuery), { purchases: [{ tier: 'gold', n: i }] })).status,
          ).toBe(200);
        }
        const query = encodeURIComponent(JSON.stringify({ timeframe: 'this_1_years' }));
        // The query string is never logged (it may hold key material): a marker in it must not appear.
        const queried = await call(
          'GET',
          `/events/purchases?query=${query}&note=${queryMarker}`,
          '/events/:collection',
          keyed(project.keys.query),
        );
        expect([200, 422]).toContain(queried.status);
        expect((await call('GET', '/events/purchases/export', '/events/:collection/export', keyed(filteredKey))).status).toBe(200);
        expect((await call('GET', '/events/purchases', '/events/:collection', keyed(wrongKey))).status).toBe(401);
        expect((await call('GET', `/nowhere?api_key=${queryMarker}`, null, {})).status).toBe(404);

        const exported = await call('POST', '/events/purchases/export', '/events/:collection/export', keyed(project.keys.master), {
          s3Path: `${s3.endpoint}/${BUCKET}/exports/`,
          s3AccessKeyId: s3.accessKeyId,
          s3SecretAccessKey: s3.secretAccessKey,
        });
        expect(exported.status).toBe(201);
        exportId = (exported.body as { filename: string }).filename.replace(/\.json$/, '');
        await until('the export to finish', async () => {
          const res = await call('GET', pathOf(exported.location!), '/events/:collection/export/:id', keyed(project.keys.query));
          const status = (res.body as { status: string }).status;
          return status === 'Complete' || status === 'Failed' ? status : null;
        }).then((status) => expect(status).toBe('Complete'));

        const client = new S3Client(s3.clientConfig());
        await client.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: 'import/events.ndjson',
            Body: Buffer.from(Array.from({ length: 30 }, (_, i) => JSON.stringify({ n: i })).join('\n') + '\n'),
          }),
        );
        client.destroy();
        const imported = await call('POST', '/event-import', '/event-import', keyed(project.keys.push), {
          collection: 'copied',
          s3Path: `${s3.endpoint}/${BUCKET}/import/events.ndjson`,
          s3AccessKeyId: s3.accessKeyId,
          s3SecretAccessKey: s3.secretAccessKey,
        });
        expect(imported.status).toBe(201);
        importId = pathOf(imported.location!).split('/').pop()!;
        await until('the import to finish', async () => {
          const res = await call('GET', pathOf(imported.location!), '/event-import/:id', keyed(project.keys.push));
          const status = (res.body as { status: string }).status;
          return status === 'Complete' || status === 'Failed' ? status : null;
        }).then((status) => expect(status).toBe('Complete'));
        // The access line of the last request is written when its response has ended: let it land.
        await until('the last access line', async () =>
          service.output().includes(`"reqId":"${requests.at(-1)!.requestId}"`) ? true : null,
        );
      } finally {
        await service.stop();
      }
      lines = service
        .output()
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => {
          try {
            return JSON.parse(line) as Line;
          } catch {
            throw new Error(`not a JSON line: ${line}`);
          }
        });
    }, 120_000);

    it('writes one JSON object per line, stdout and stderr alike, from start to shutdown', () => {
      expect(lines.length).toBeGreaterThan(20);
      for (const line of lines) {
        expect(line).toEqual(expect.objectContaining({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) }));
        expect(new Date(line.time as string).toISOString()).toBe(line.time);
      }
      expect(lines.some((l) => String(l.msg).startsWith('listening on 127.0.0.1 port'))).toBe(true);
      // Nest's own start-up lines go through the same logger.
      expect(lines.some((l) => l.context === 'NestApplication' && l.msg === 'Nest application successfully started')).toBe(true);
      // The AWS SDK's Node-version notice is not printed (the service turns it off itself).
      expect(service.output()).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
    });

    it('gives each request one access line (method, route pattern, status, duration, project) under the id sent back as X-Request-Id', () => {
      expect(requests.length).toBeGreaterThan(10);
      expect(new Set(requests.map((r) => r.requestId)).size).toBe(requests.length);
      expect(requests.find((r) => r.given === 'logging-push-1')!.requestId).toBe('logging-push-1');
      for (const r of requests) {
        const access = lines.filter((l) => l.event === 'http.request' && l.reqId === r.requestId);
        expect(access).toEqual([
          expect.objectContaining({ level: r.status >= 500 ? 'warn' : 'info', method: r.method, route: r.route, status: r.status }),
        ]);
        expect(typeof access[0].durationMs).toBe('number');
        expect(access[0].durationMs).toBeGreaterThanOrEqual(0);
        expect(Object.keys(access[0]).sort()).toEqual(
          [
            'level',
            'time',
            'pid',
            'hostname',
            'msg',
            'context',
            'event',
            'reqId',
            'method',
            'route',
            'status',
            'durationMs',
            ...(r.keyed ? ['projectId', 'keyType'] : []),
          ].sort(),
        );
        if (access[0].projectId !== undefined) expect(access[0].projectId).toBe(project.projectId);
        // Every line naming the request's id carries it as its reqId.
        for (const line of lines.filter((l) => JSON.stringify(l).includes(r.requestId))) expect(line.reqId).toBe(r.requestId);
      }
      // No other access line, but those of startService's readiness probes (GET /health).
      expect(lines.filter((l) => l.event === 'http.request' && l.route !== '/health')).toHaveLength(requests.length);
    });

    it('carries the request id on lines written while handling the request (an export created, an import created)', () => {
      const created = lines.find((l) => l.event === 'export.created')!;
      const post = requests.find((r) => r.method === 'POST' && r.route === '/events/:collection/export')!;
      expect(created).toEqual(
        expect.objectContaining({ level: 'info', reqId: post.requestId, exportId, projectId: project.projectId, collection: 'purchases' }),
      );
      const importCreated = lines.find((l) => l.event === 'import.created')!;
      const importPost = requests.find((r) => r.method === 'POST' && r.route === '/event-import')!;
      expect(importCreated).toEqual(
        expect.objectContaining({ level: 'info', reqId: importPost.requestId, importId, projectId: project.projectId }),
      );
      // Worker lines belong to no request.
      expect(lines.find((l) => l.event === 'export.started')!.reqId).toBeUndefined();
    });

    it('logs the lifecycle of the export and the import: created, started (attempt 1), complete with events, bytes and duration', () => {
      const of = (kind: 'export' | 'import', id: string) =>
        lines.filter((l) => typeof l.event === 'string' && l.event.startsWith(`${kind}.`) && l[`${kind}Id`] === id).map((l) => l.event);
      expect(of('export', exportId)).toEqual(['export.created', 'export.started', 'export.complete']);
      expect(of('import', importId)).toEqual(['import.created', 'import.started', 'import.complete']);
      expect(lines.find((l) => l.event === 'export.started')).toEqual(
        expect.objectContaining({ level: 'info', context: 'ExportRunner', exportId, projectId: project.projectId, attempt: 1 }),
      );
      expect(lines.find((l) => l.event === 'export.complete')).toEqual(
        expect.objectContaining({
          level: 'info',
          exportId,
          projectId: project.projectId,
          events: 5,
          bytes: expect.any(Number),
          durationMs: expect.any(Number),
        }),
      );
      expect((lines.find((l) => l.event === 'export.complete')!.bytes as number) > 0).toBe(true);
      expect(lines.find((l) => l.event === 'import.complete')).toEqual(
        expect.objectContaining({
          level: 'info',
          importId,
          projectId: project.projectId,
          events: 30,
          bytes: expect.any(Number),
          durationMs: expect.any(Number),
        }),
      );
    });

    it('never logs a secret: admin token, SECRETS_KEY, API keys (valid, filtered, wrong), S3 credentials, bodies or query strings', () => {
      const text = service.output();
      const secrets = {
        adminToken,
        secretsKey,
        ...project.keys,
        filteredKey,
        filteredKeyLower: filteredKey.toLowerCase(),
        wrongKey,
        s3AccessKeyId: s3.accessKeyId,
        s3SecretAccessKey: s3.secretAccessKey,
        bodyMarker,
        queryMarker,
      };
      for (const [name, secret] of Object.entries(secrets)) {
        expect([name, text.includes(secret)]).toEqual([name, false]);
      }
      expect(text).not.toMatch(/x-api-key|x-admin-token|authorization/i);
    });
  });

  it('LOG_FORMAT=pretty redirected to a file: plain text lines, with no ANSI escape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'service-log-'));
    const file = join(dir, 'service.log');
    const fd = openSync(file, 'w');
    let service: Service | undefined;
    try {
      service = await startService(
        {
          DATABASE_URL: databaseUrl,
          QUEUE_PREFIX: testKeyPrefix('logging-pretty'),
          SECRETS_KEY: secretsKey,
          LOG_FORMAT: 'pretty',
          FORCE_COLOR: '1',
        },
        fd,
      );
      const res = await fetch(`${service.baseUrl}/health`, { headers: { 'X-Request-Id': 'pretty-1' } });
      expect(res.status).toBe(200);
      await until('the access line', async () => (readFileSync(file, 'utf8').includes('request pretty-1') ? true : null));
    } finally {
      await service?.stop();
      closeSync(fd);
    }
    const text = readFileSync(file, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    expect(text).not.toContain('\x1b[');
    expect(text).toMatch(/^\S+Z INFO {2}\[Bootstrap\] listening on 127\.0\.0\.1 port \d+/m);
    expect(text).toMatch(/^\S+Z INFO {2}\[HttpAccess\] request pretty-1 GET \/health 200 \d+ ms$/m);
    expect(text).not.toMatch(/^\{/m);
  }, 90_000);
});
