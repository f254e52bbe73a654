import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ConnectErrorFilter, connectValidationPipe, JsonBodyInterceptor, RateLimitService } from './common';
import type { AppConfig } from './config';
import { CoreModule } from './core.module';
import { EventsModule } from './events';
import { ExportsModule } from './exports';
import { HealthModule } from './health';
import { ImportsModule } from './imports';
// eslint-disable-next-line no-restricted-imports -- not in metrics/index.ts: exports/ and imports/ load that index, and MetricsModule loads them
import { MetricsModule } from './metrics/metrics.module';
import { ApiKeyGuard, ProjectsModule } from './projects';
import { QueryModule } from './query';

/**
 * The HTTP API (and, with role `all`, the export and import worker in the same process). Global pipe, guard,
 * interceptor and filter are providers so every test module built from here behaves like
 * production. Nest runs the guard (authentication) before the interceptor that reads JSON bodies,
 * so unauthenticated requests never have their bodies read.
 */
@Module({})
export class AppModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forConfig(config),
        ProjectsModule,
        EventsModule,
        QueryModule,
        ExportsModule.register({ http: true, worker: config.http.role === 'all' }),
        ImportsModule.register({ http: true, worker: config.http.role === 'all' }),
        // /metrics on PORT behind X-Admin-Token, or on METRICS_PORT without one (docs/monitoring.md).
        MetricsModule.register({ http: true, worker: config.http.role === 'all', controller: config.metrics.metricsPort === null }),
        HealthModule.register({
          http: true,
          listeners: config.metrics.metricsPort === null ? [] : [{ port: config.metrics.metricsPort, health: false }],
        }),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: connectValidationPipe },
        RateLimitService,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_INTERCEPTOR, useClass: JsonBodyInterceptor },
        { provide: APP_FILTER, useClass: ConnectErrorFilter },
      ],
    };
  }
}

/** The worker's operator ports: HEALTH_PORT (health and metrics), METRICS_PORT (metrics) unless the same. */
function workerListeners(config: AppConfig): Array<{ port: number; health: boolean }> {
  const { healthPort, metricsPort } = config.metrics;
  const listeners = healthPort === null ? [] : [{ port: healthPort, health: true }];
  if (metricsPort !== null && metricsPort !== healthPort) listeners.push({ port: metricsPort, health: false });
  return listeners;
}

/**
 * The export and import worker alone (role `worker`): no API. With HEALTH_PORT it answers
 * `/health`, `/health/ready` and `/metrics` there; with METRICS_PORT (another port), `/metrics` there.
 */
@Module({})
export class WorkerModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        CoreModule.forConfig(config),
        ExportsModule.register({ http: false, worker: true }),
        ImportsModule.register({ http: false, worker: true }),
        MetricsModule.register({ http: false, worker: true, controller: false }),
        HealthModule.register({ http: false, listeners: workerListeners(config) }),
      ],
    };
  }
}
