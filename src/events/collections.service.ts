import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common';
import { EventWriter } from './event-writer';

/** Collections as a whole (Connect docs, "Deleting a collection"). A collection exists while it holds at least one event. */
@Injectable()
export class CollectionsService {
  constructor(private readonly events: EventWriter) {}

  /**
   * Deletes every event of the collection, irreversibly.
   * @throws NotFoundError (404) when the project has no event in that collection.
   */
  async delete(projectId: string, collection: string): Promise<void> {
    if ((await this.events.deleteCollection(projectId, collection)) === 0) {
      throw new NotFoundError(`No collection '${collection}' in this project.`);
    }
  }
}
