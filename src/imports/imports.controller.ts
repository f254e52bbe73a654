import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import {
  BaseUrl,
  CurrentProject,
  errorExamples,
  ErrorMessageDto,
  JsonBody,
  MAX_OTHER_BODY,
  RequiresKey,
  ValidationErrorDto,
} from '../common';
import type { ProjectContext } from '../projects';
import { CreateImportDto } from './dto/create-import.dto';
import { ImportStatusDto } from './dto/import-status.dto';
import { PENDING_IMPORTS_RETRY_AFTER_SECONDS } from './imports.constants';
import { ImportsService } from './imports.service';

const IMPORT_ID_PARAM = { name: 'id', description: 'Import id from the Location header.', example: '55b80dd4eb6742481c62c05e' };
const IMPORT_NOT_FOUND = {
  type: ErrorMessageDto,
  description: 'Unknown import id (or one of another project).',
  examples: errorExamples('importNotFound'),
};

@ApiTags('imports')
@Controller('event-import')
export class ImportsController {
  constructor(private readonly imports: ImportsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequiresKey('push', 'pushes', {
    tooManyRequests: `the project already has IMPORT_MAX_PENDING_PER_PROJECT unfinished imports (Retry-After: ${PENDING_IMPORTS_RETRY_AFTER_SECONDS})`,
    tooManyRequestsExample: 'tooManyPendingImports',
  })
  @JsonBody({ limitBytes: MAX_OTHER_BODY })
  @ApiOperation({
    summary: 'Import events in bulk from an S3 object (Connect docs, "Importing events")',
    description:
      'Reads the object (NDJSON: one JSON event per line; plain or gzip-compressed) in the background; every line is checked and ' +
      'de-duplicated as a push is (docs/imports.md). The `Location` header is the monitor URL; the body is the monitor document.',
  })
  @ApiBody({ type: CreateImportDto })
  @ApiCreatedResponse({
    type: ImportStatusDto,
    description: 'The import is created, Pending, and queued for a worker; the body is its monitor document.',
    headers: { Location: { description: 'Absolute URL of GET /event-import/:id', schema: { type: 'string' } } },
  })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description:
      'Invalid collection name, s3Path (not an allowed S3 location, or names a bucket or folder rather than an object) or credentials fields.',
    examples: errorExamples('invalidImport'),
  })
  @ApiServiceUnavailableResponse({
    type: ErrorMessageDto,
    description: 'The import queue (Redis) did not answer within REDIS_COMMAND_TIMEOUT_MS; with Retry-After.',
  })
  async create(
    @CurrentProject() project: ProjectContext,
    @Body() body: CreateImportDto,
    @BaseUrl() baseUrl: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ImportStatusDto> {
    const created = await this.imports.create(project.projectId, body, baseUrl);
    response.location(created.location);
    return created.status;
  }

  @Get(':id')
  @RequiresKey('push', 'queries')
  @ApiOperation({
    summary: 'Monitor an import (Connect docs, "Importing events")',
    description: "The import's status (Pending, Running, Complete or Failed) and how many lines it has stored or rejected so far.",
  })
  @ApiParam(IMPORT_ID_PARAM)
  @ApiOkResponse({ type: ImportStatusDto, description: 'The monitor document of the import.' })
  @ApiNotFoundResponse(IMPORT_NOT_FOUND)
  status(@CurrentProject() project: ProjectContext, @Param('id') id: string): Promise<ImportStatusDto> {
    return this.imports.status(project.projectId, id);
  }

  @Delete(':id')
  @RequiresKey('push', 'queries')
  @ApiOperation({
    summary: 'Cancel an import',
    description:
      'A Pending or Running import becomes Failed with `error` "The import was cancelled." and `finished` now; batches already ' +
      'committed stay stored (the monitor counts them). The stored S3 credentials are wiped at once.',
  })
  @ApiParam(IMPORT_ID_PARAM)
  @ApiOkResponse({ type: ImportStatusDto, description: 'The monitor document of the cancelled import (status Failed).' })
  @ApiNotFoundResponse(IMPORT_NOT_FOUND)
  @ApiConflictResponse({
    type: ErrorMessageDto,
    description: 'The import has already finished (Complete or Failed).',
    examples: errorExamples('importFinished'),
  })
  cancel(@CurrentProject() project: ProjectContext, @Param('id') id: string): Promise<ImportStatusDto> {
    return this.imports.cancel(project.projectId, id);
  }
}
