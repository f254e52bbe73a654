import { INestApplication, Logger, LogLevel } from '@nestjs/common';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { AppModule } from './app.module';
import { closeUnreadBodies, REQUEST_ID_HEADER, requestIds, SECURITY_SCHEMES } from './common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppConfig } from './config';
import { accessLog, nestLogger, pinoLevelOf, processLogger } from './logging';
import { mountQueueDashboard } from './admin';
import { httpMetrics, Metrics } from './metrics';

/** Sorts object keys recursively, so the committed openapi.json diffs cleanly. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The OpenAPI document of the HTTP API, deterministic (sorted keys, stable operation ids). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Connect-compatible event analytics API')
    .setDescription(
      'Push JSON events into collections, query them and export them, speaking the Connect (getconnect.io) HTTP API. ' +
        'Errors are `{"errorMessage": "..."}` or, for validation, `422 {"errors": [{"field", "description"}]}`.',
    )
    .setVersion('1')
    // Credentials are read from these headers only (src/common/auth.ts): no query-string key, no
    // Basic auth. Operations name the schemes they need (`@RequiresKey`: X-Project-Id AND
    // X-Api-Key; `@RequiresAdminToken`: X-Admin-Token), so Swagger UI's Authorize dialog sends them.
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-Project-Id', description: 'The project id (24 hex characters). Sent with X-Api-Key.' },
      SECURITY_SCHEMES.projectId,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-Api-Key',
        description:
          'A key of the project in X-Project-Id: its master, push/query, push or query key, or a filtered key ' +
          '(docs/keys.md). Pushes take the master, push/query or push key; queries and exports the master, ' +
          "push/query or query key; deleting a collection the master key only. Each operation's 403 says which keys it takes.",
      },
      SECURITY_SCHEMES.apiKey,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-Admin-Token',
        description: 'The operator token (env ADMIN_TOKEN), for /projects. Admin endpoints answer 403 while ADMIN_TOKEN is unset.',
      },
      SECURITY_SCHEMES.adminToken,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  return sortKeys(document) as OpenAPIObject;
}

/** Statuses and Connect-shaped bodies for requests Node's HTTP parser refuses before Express sees them. */
function clientErrorResponse(code: string | undefined): [number, string, string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'Request Header Fields Too Large', 'The request line (URL) and headers together are larger than 16 KB.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return [408, 'Request Timeout', 'The request was not received in time.'];
    default:
      return [400, 'Bad Request', 'The request is not valid HTTP.'];
  }
}

/**
 * The headers `securityHeaders()` sets on every response, as raw header lines, for the answers
 * written to the socket before Express sees a request (`answerClientError`). Helmet's headers
 * depend on nothing of the request, so they are taken once from a stand-in response.
 */
function securityHeaderLines(): string {
  const headers = new Map<string, string>();
  const response = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  };
  securityHeaders()({} as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return [...headers].map(([name, value]) => `${name}: ${value}\r\n`).join('');
}

const SECURITY_HEADER_LINES = securityHeaderLines();

/**
 * Answers requests that Node's HTTP parser refuses (an over-long URL or headers, malformed HTTP)
 * in Connect's shape instead of Node's bare status line, then closes the connection.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] = clientErrorResponse(error.code);
  const body = JSON.stringify({ errorMessage: message });
  // No request was parsed, so there is no id to keep: the answer gets a fresh one, like any other.
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `${REQUEST_ID_HEADER}: ${randomUUID()}\r\n${SECURITY_HEADER_LINES}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Security headers (helmet) for every response. The Content-Security-Policy is helmet's default,
 * loosened only as the Swagger UI at `/docs` and the queue dashboard at `/admin/queues` need: their
 * pages load scripts and styles from their own paths and have inline `<style>` blocks and `style`
 * attributes ('unsafe-inline' for styles only; no inline script runs). The dashboard's web font
 * stylesheet (fonts.googleapis.com) is refused: it falls back to local fonts. `upgrade-insecure-requests` is dropped because the service is often
 * reached over plain http inside a network, where it would break the UI. Resources may be read
 * cross-origin (`Cross-Origin-Resource-Policy: cross-origin`): browser SDKs on other sites call
 * this API, which CORS already governs.
 */
export function securityHeaders(): ReturnType<typeof helmet> {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
}

/**
 * Creates the HTTP application with everything production has: request ids (`X-Request-Id`, in
 * every log line of the request), security headers, JSON bodies read only by the endpoints that
 * take one, after authentication (`JsonBodyInterceptor`), CORS for browser SDKs (connect-js reads
 * `ETag`), Swagger UI at `/docs` and the document at `/docs-json`, the queue dashboard at
 * `/admin/queues` (with ADMIN_TOKEN), and `http_request_duration_seconds` for every request answered
 * (docs/monitoring.md). Logs go through the process's pino logger (src/logging/logger.ts,
 * docs/logging.md), with one access line per request.
 * @param logger Nest log levels to print instead of LOG_LEVEL (tests), or false for none.
 */
export async function createHttpApp(config: AppConfig, logger?: LogLevel[] | false): Promise<NestExpressApplication> {
  const root = processLogger(config.logging, logger === undefined ? config.logging.logLevel : pinoLevelOf(logger));
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), {
    bodyParser: false,
    bufferLogs: true,
    logger: nestLogger(root),
  });
  app.useLogger(app.get(PinoNestLogger));
  app.set('query parser', 'simple');
  app.set('x-powered-by', false);
  // Which address request.ip is (rate limits per client address): behind a load balancer this must
  // name it (TRUST_PROXY), or every client shares the balancer's address.
  app.set('trust proxy', config.http.trustProxy);
  app.getHttpAdapter().getInstance().locals.publicBaseUrl = config.http.publicBaseUrl;
  app.use(httpMetrics(app.get(Metrics)));
  app.use(requestIds);
  app.use(accessLog(root));
  app.use(securityHeaders());
  app.use(closeUnreadBodies(config.http.closeLingerMs));
  mountQueueDashboard(app, config);
  app.enableCors({
    origin: true,
    allowedHeaders: ['Content-Type', 'Accept', 'X-Project-Id', 'X-Api-Key', 'If-None-Match', REQUEST_ID_HEADER],
    exposedHeaders: ['ETag', 'Location', REQUEST_ID_HEADER, 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
  });
  if (config.http.publicBaseUrl === null && config.http.production) {
    new Logger('Bootstrap').warn(
      "PUBLIC_BASE_URL is not set: Location headers (S3 export monitor URLs) are built from each request's Host header. " +
        'Set PUBLIC_BASE_URL to the public URL of the service (e.g. https://analytics.example.com).',
    );
  }
  // A client that stops reading a streamed export is dropped after this long (Node has no default).
  const server = app.getHttpServer();
  server.setTimeout(config.http.idleTimeoutMs);
  // Keep idle keep-alive connections longer than the usual load balancer (60 s) and client pools
  // do, so the server is not the side that closes a socket a client is about to reuse (Node: 5 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', answerClientError);
  // Node answers `Expect: 100-continue` itself unless 'checkContinue' has a listener. Handling it
  // as a plain request lets `readJsonBody` send `100 Continue` only once the request is
  // authenticated, so such a client never sends the body of a request that is refused.
  server.on('checkContinue', (request: unknown, response: unknown) => server.emit('request', request, response));
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  return app;
}
