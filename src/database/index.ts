/** The public face of database/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { dataSourceOptions } from './data-source-options';
export { runMigrationsLocked } from './migrate';
