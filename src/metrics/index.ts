/** The public face of metrics/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { httpMetrics } from './http-metrics';
export { Metrics } from './metrics';
// Not MetricsModule: it loads exports/ and imports/ (it gauges their queues), whose files load `Metrics`
// from here; app.module.ts imports it from its file, so no import cycle runs through this index.
