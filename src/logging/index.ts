/** The public face of logging/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { accessLog } from './access-log';
export { createLogger, errorCodeOf, logProcessWarnings, nestLogger, pinoLevelOf, processLogger } from './logger';
