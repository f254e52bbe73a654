/** The public face of health/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { HealthModule } from './health.module';
