import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ExportQueueModule } from '../exports';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { OPS_LISTENERS, OpsListener, OpsListenerSpec } from './ops-listener';

/**
 * `/health` and `/health/ready` (docs/monitoring.md): on the API's port with `http`, and on the
 * operators' `listeners` (METRICS_PORT, HEALTH_PORT), if any, which also serve `/metrics`.
 * Terminus logs nothing itself; HealthService logs readiness changes.
 */
@Module({})
export class HealthModule {
  static register(options: { http: boolean; listeners: OpsListenerSpec[] }): DynamicModule {
    return {
      module: HealthModule,
      imports: [ExportQueueModule, TerminusModule.forRoot({ logger: false })],
      controllers: options.http ? [HealthController] : [],
      providers: [
        HealthService,
        ...(options.listeners.length > 0 ? [{ provide: OPS_LISTENERS, useValue: options.listeners }, OpsListener] : []),
      ],
    };
  }
}
