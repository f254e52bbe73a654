import { DynamicModule, Global, Inject, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { ExportQueueModule } from '../exports';
import { ImportQueueModule } from '../imports';
import { Metrics, MetricsScope } from './metrics';
import { MetricsController } from './metrics.controller';
import { QueueMetrics } from './queue-metrics';

/** Shows TypeORM's pool (the one pushes, queries and the worker use) as `pool="main"`. */
@Injectable()
class MainPoolMetrics implements OnModuleInit {
  constructor(
    @Inject(Metrics) private readonly metrics: Metrics,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    if (pool) this.metrics.addPool('main', pool);
  }
}

/**
 * The process's Prometheus metrics (docs/monitoring.md): one `Metrics` (and Registry) per
 * application, global so that the services that count (pushes, queries, the export and import
 * runners) inject it. With `controller`, `GET /metrics` is served on PORT behind X-Admin-Token;
 * otherwise an OpsListener (METRICS_PORT, HEALTH_PORT) serves it, or nothing does.
 */
@Global()
@Module({})
export class MetricsModule {
  static register(options: MetricsScope & { controller: boolean }): DynamicModule {
    const scope: MetricsScope = { http: options.http, worker: options.worker };
    return {
      module: MetricsModule,
      imports: [ExportQueueModule, ImportQueueModule],
      controllers: options.controller ? [MetricsController] : [],
      providers: [{ provide: Metrics, useFactory: () => new Metrics(scope) }, QueueMetrics, MainPoolMetrics],
      exports: [Metrics],
    };
  }
}
