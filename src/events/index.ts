/** The public face of events/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { eventJsonSql } from './event-json';
export { EventWriter, documentEntry, documentOf } from './event-writer';
export type { DocumentEntry } from './event-writer';
export { EventWriterModule } from './event-writer.module';
export { EventsModule } from './events.module';
export { prepareEvent } from './events.service';
