import { Module } from '@nestjs/common';
import { CollectionsController } from './collections.controller';
import { CollectionsService } from './collections.service';
import { EventsController } from './events.controller';
import { EventWriterModule } from './event-writer.module';
import { EventsService } from './events.service';

/** Pushing events and deleting collections (Connect docs, "Pushing events"). */
@Module({
  imports: [EventWriterModule],
  controllers: [EventsController, CollectionsController],
  providers: [EventsService, CollectionsService],
})
export class EventsModule {}
