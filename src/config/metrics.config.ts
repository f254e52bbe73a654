import { defineSection } from './section';
import { OptionalPort } from './variables';

/** Listeners of their own for /metrics and, in a worker-only process, /health. */
export class MetricsVariables {
  @OptionalPort()
  METRICS_PORT: number | null = null;

  @OptionalPort()
  HEALTH_PORT: number | null = null;
}

export interface MetricsConfig {
  /** Port of a separate HTTP listener that serves `/metrics` without a token; null: `/metrics` on PORT behind X-Admin-Token. */
  metricsPort: number | null;
  /** Port on which a worker-only process (ROLE=worker) answers `/health`, `/health/ready` (and `/metrics`); null: none. */
  healthPort: number | null;
}

/** METRICS_PORT, HEALTH_PORT (docs/configuration.md). */
export const metricsConfig = defineSection('metrics', MetricsVariables, (v): MetricsConfig => ({
  metricsPort: v.METRICS_PORT,
  healthPort: v.HEALTH_PORT,
}));
