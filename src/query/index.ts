/** The public face of query/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { parseExportQuery } from './event-selection';
export { parseFilter } from './filter';
export { isAbsent, isPlainObject } from './json-guards';
export { parseQueryBody, parseQueryParam } from './query-document';
export { QueryModule } from './query.module';
export type { EventSelection, FilterCondition } from './query.types';
export { compileWhere } from './where-compiler';
