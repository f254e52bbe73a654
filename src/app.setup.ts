import { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import type { Duplex } from 'node:stream';
import { AppConfig } from './config/app.config';

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
      return [431, 'Request Header Fields Too Large', 'The request line and headers are larger than 16 KB; a query that long is over the query size limit.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return [408, 'Request Timeout', 'The request was not received in time.'];
    default:
      return [400, 'Bad Request', 'The request is not valid HTTP.'];
  }
}

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
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Creates the HTTP application with everything production has: JSON body parsing by route
 * (middleware in AppModule), CORS for browser SDKs (connect-js reads `ETag`), Swagger UI at
 * `/docs` and the document at `/docs-json`.
 */
export async function createHttpApp(
  config: AppConfig,
  logger: LogLevel[] | false = ['error', 'warn', 'log'],
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), {
    bodyParser: false,
    logger,
  });
  app.set('query parser', 'simple');
  app.set('x-powered-by', false);
  // Which address request.ip is (rate limits per client address): behind a load balancer this must
  // name it (TRUST_PROXY), or every client shares the balancer's address.
  app.set('trust proxy', config.trustProxy);
  app.getHttpAdapter().getInstance().locals.publicBaseUrl = config.publicBaseUrl;
  app.enableCors({
    origin: true,
    allowedHeaders: ['Content-Type', 'Accept', 'X-Project-Id', 'X-Api-Key', 'If-None-Match'],
    exposedHeaders: ['ETag', 'Location', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
  });
  // A client that stops reading a streamed export is dropped after this long (Node has no default).
  const server = app.getHttpServer();
  server.setTimeout(config.httpIdleTimeoutMs);
  // Keep idle keep-alive connections longer than the usual load balancer (60 s) and client pools
  // do, so the server is not the side that closes a socket a client is about to reuse (Node: 5 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', answerClientError);
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  return app;
}
