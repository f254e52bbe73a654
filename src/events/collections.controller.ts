import { Controller, Delete, HttpCode, HttpStatus } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  COLLECTION_PARAM,
  CollectionParam,
  CurrentProject,
  errorExamples,
  ErrorMessageDto,
  RequiresKey,
  ValidationErrorDto,
} from '../common';
import type { ProjectContext } from '../projects';
import { CollectionsService } from './collections.service';

const COLLECTION_NOT_FOUND = {
  type: ErrorMessageDto,
  description: 'The project has no event in this collection.',
  examples: errorExamples('collectionNotFound'),
};
const INVALID_COLLECTION = {
  type: ValidationErrorDto,
  description: "Invalid collection name (empty, over 255 characters, a control character or '/').",
  examples: errorExamples('invalidCollection'),
};
const DESCRIPTION = 'Removes every event of the collection, irreversibly. Needs the Master Project Key; any other key gets 403.';

/** Deleting collections (Connect docs, "Deleting a collection", E9). */
@ApiTags('collections')
@Controller()
export class CollectionsController {
  constructor(private readonly collections: CollectionsService) {}

  @Delete('collections/:collection')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequiresKey('master')
  @ApiOperation({ summary: 'Delete a collection (Connect docs, "Deleting a collection")', description: DESCRIPTION })
  @ApiParam(COLLECTION_PARAM)
  @ApiNoContentResponse({ description: 'Every event of the collection is deleted.' })
  @ApiNotFoundResponse(COLLECTION_NOT_FOUND)
  @ApiUnprocessableEntityResponse(INVALID_COLLECTION)
  delete(@CurrentProject() project: ProjectContext, @CollectionParam() collection: string): Promise<void> {
    return this.collections.delete(project.projectId, collection);
  }

  @Delete('events/:collection')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequiresKey('master')
  @ApiOperation({
    summary: 'Delete a collection, legacy path (documented until 2016-03-01, Connect docs, "HTTP API")',
    description: `Same as DELETE /collections/{collection}. ${DESCRIPTION}`,
    deprecated: true,
  })
  @ApiParam(COLLECTION_PARAM)
  @ApiNoContentResponse({ description: 'Every event of the collection is deleted.' })
  @ApiNotFoundResponse(COLLECTION_NOT_FOUND)
  @ApiUnprocessableEntityResponse(INVALID_COLLECTION)
  deleteLegacy(@CurrentProject() project: ProjectContext, @CollectionParam() collection: string): Promise<void> {
    return this.collections.delete(project.projectId, collection);
  }
}
