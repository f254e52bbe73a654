/** The public face of admin/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { mountQueueDashboard } from './queue-dashboard';
