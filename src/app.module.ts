import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ApiKeyGuard } from './common/auth';
import { ConnectErrorFilter } from './common/connect-error.filter';
import { JsonBodyInterceptor } from './common/json-body';
import { RateLimitService } from './common/rate-limit';
import { connectValidationPipe } from './common/validation.pipe';
import type { AppConfig } from './config/configuration';
import { CoreModule } from './core.module';
import { EventsModule } from './events/events.module';
import { ExportsModule } from './exports/exports.module';
import { HealthModule } from './health/health.module';
import { ImportsModule } from './imports/imports.module';
import { ProjectsModule } from './projects/projects.module';
import { QueryModule } from './query/query.module';

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
        HealthModule,
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

/** The export and import worker alone (role `worker`): no HTTP server. */
@Module({})
export class WorkerModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        CoreModule.forConfig(config),
        ExportsModule.register({ http: false, worker: true }),
        ImportsModule.register({ http: false, worker: true }),
      ],
    };
  }
}
