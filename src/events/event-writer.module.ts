import { Module } from '@nestjs/common';
import { EventWriter } from './event-writer';

/** The one EventWriter of a process, for pushes (EventsModule) and bulk imports (ImportsModule): one statement stores both. */
@Module({
  providers: [EventWriter],
  exports: [EventWriter],
})
export class EventWriterModule {}
