/** The public face of imports/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { ImportQueueModule } from './import-queue.module';
export { IMPORT_QUEUE } from './imports.constants';
export { ImportsModule } from './imports.module';
export { ImportWorker } from './import-worker';
