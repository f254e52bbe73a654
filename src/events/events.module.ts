import { Module } from '@nestjs/common';
import { CollectionsController } from './collections.controller';
import { CollectionsService } from './collections.service';
import { EventsController } from './events.controller';
import { EventWriter } from './event-writer';
import { EventsService } from './events.service';

/** Pushing events and deleting collections (Connect docs, "Pushing events"). */
@Module({
  controllers: [EventsController, CollectionsController],
  providers: [EventsService, EventWriter, CollectionsService],
})
export class EventsModule {}
