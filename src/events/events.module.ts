import { Module } from '@nestjs/common';
import { CollectionsController } from './collections.controller';
import { CollectionsService } from './collections.service';
import { EventsController } from './events.controller';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';

/** Pushing events and deleting collections (Connect docs, "Pushing events"). */
@Module({
  controllers: [EventsController, CollectionsController],
  providers: [EventsService, EventsRepository, CollectionsService],
})
export class EventsModule {}
