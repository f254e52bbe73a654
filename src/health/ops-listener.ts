import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { ConnectError, DEPENDENCY_RETRY_AFTER_SECONDS } from '../common';
import { httpConfig, HttpConfig } from '../config';
import { Metrics } from '../metrics';
import { HealthService } from './health.service';

/** A port of its own answering operators' GETs: `/metrics`, and with `health`, `/health` and `/health/ready`. */
export interface OpsListenerSpec {
  port: number;
  health: boolean;
}

export const OPS_LISTENERS = Symbol('OPS_LISTENERS');

/**
 * The listeners for operators beside (or instead of) the API's HTTP server, without a token, for
 * ports kept off the public network: METRICS_PORT (`/metrics`), and in a worker-only process
 * HEALTH_PORT (`/health`, `/health/ready`, `/metrics`) (docs/monitoring.md). Plain `node:http`:
 * no Express, no request body is read, every other path answers 404 `{"errorMessage"}`.
 * They listen on HOST once the application has started, and close with it.
 */
@Injectable()
export class OpsListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Bootstrap');
  private readonly servers: Server[] = [];

  constructor(
    @Inject(OPS_LISTENERS) private readonly specs: OpsListenerSpec[],
    @Inject(httpConfig.KEY) private readonly httpConfig: HttpConfig,
    private readonly metrics: Metrics,
    private readonly health: HealthService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const spec of this.specs) {
      const server = createServer((request, response) => void this.answer(spec, request, response));
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(spec.port, this.httpConfig.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push(server);
      const paths = spec.health ? '/health, /health/ready and /metrics' : '/metrics';
      this.logger.log(`${paths} on ${this.httpConfig.host} port ${spec.port}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(
      this.servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  private async answer(spec: OpsListenerSpec, request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    const path = (request.url ?? '/').split('?')[0];
    const known = path === '/metrics' || (spec.health && (path === '/health' || path === '/health/ready'));
    try {
      if (!known) {
        json(response, 404, { errorMessage: 'Not found.' });
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET, HEAD');
        json(response, 405, { errorMessage: `${path} answers GET only.` });
        return;
      }
      if (path === '/metrics') {
        const text = await this.metrics.render();
        response.writeHead(200, { 'Content-Type': this.metrics.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      } else if (path === '/health') {
        json(response, 200, await this.health.liveness());
      } else {
        const { ready, result } = await this.health.readiness();
        if (!ready) response.setHeader('Retry-After', String(DEPENDENCY_RETRY_AFTER_SECONDS));
        json(response, ready ? 200 : 503, result);
      }
    } catch (error) {
      if (error instanceof ConnectError && error.retryAfterSeconds !== null) {
        response.setHeader('Retry-After', String(error.retryAfterSeconds));
        json(response, 503, { errorMessage: error.message });
        return;
      }
      this.logger.error(`${request.method} ${path} on port ${spec.port} failed: ${(error as Error).stack ?? String(error)}`);
      json(response, 500, { errorMessage: 'An error occurred while processing your request' });
    }
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}
