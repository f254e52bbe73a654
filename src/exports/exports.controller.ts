import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Req, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  BaseUrl,
  COLLECTION_PARAM,
  CollectionParam,
  CurrentProject,
  errorExamples,
  ErrorMessageDto,
  JsonBody,
  MAX_OTHER_BODY,
  RequiresKey,
  ValidationErrorDto,
} from '../common';
import type { ProjectContext } from '../projects';
import { CreateS3ExportDto } from './dto/create-s3-export.dto';
import { ExportStatusDto } from './dto/export-status.dto';
import { ExportListDto, ListExportsQueryDto } from './dto/export-list.dto';
import { ExportsService, PENDING_CAP_RETRY_AFTER_SECONDS } from './exports.service';

const EXPORT_ID_PARAM = { name: 'id', description: 'Export id from the Location header.', example: '55b80dd4eb6742481c62c05e' };
const EXPORT_NOT_FOUND = {
  type: ErrorMessageDto,
  description: 'Unknown export id (or one of another project or collection).',
  examples: errorExamples('exportNotFound'),
};
const INVALID_COLLECTION = {
  type: ValidationErrorDto,
  description: "Invalid collection name (empty, over 255 characters, a control character or '/').",
  examples: errorExamples('invalidCollection'),
};
const QUERY_LIMITS = 'a query over a limit (QUERY_MAX_FILTER_CONDITIONS, QUERY_MAX_IN_VALUES, QUERY_MAX_DOCUMENT_CHARS)';

@ApiTags('exports')
@Controller('events')
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  @Get(':collection/export')
  @RequiresKey('query', 'smallExports')
  @ApiOperation({
    summary: 'Export up to 10,000 raw events in the response (Connect docs, "Exporting events": "Small exports")',
    description: 'Events as pushed plus `id` and `timestamp` (UTC, ms), ordered by timestamp then id.',
  })
  @ApiParam(COLLECTION_PARAM)
  @ApiQuery({
    name: 'query',
    required: false,
    description: 'JSON (relaxed JSON accepted) with `filter`, `timeframe` and, with a relative timeframe, `timezone`.',
    example: '{"filter":{"product":"apple"},"timeframe":"today"}',
  })
  @ApiOkResponse({
    description: 'At most 10,000 events match: all of them, in one JSON document streamed as it is read.',
    schema: {
      type: 'object',
      properties: { results: { type: 'array', items: { type: 'object', additionalProperties: true } } },
      example: {
        results: [
          { id: '9eb91561-1964-468a-b6bf-c16034b6757c', timestamp: '2015-07-28T00:00:30.295Z', name: 'test' },
          { id: '28c86f2e-4ad8-423a-85ea-b09a5ab9549d', timestamp: '2015-07-28T00:00:52.549Z', name: 'test' },
        ],
      },
    },
  })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description: `Invalid query (or one with select, groupBy or interval), ${QUERY_LIMITS}, or an invalid collection name.`,
    examples: errorExamples('invalidSmallExportQuery', 'invalidCollection'),
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorMessageDto,
    description: 'Too Many Results: more than 10,000 events match.',
    examples: errorExamples('tooManyEventsToStream'),
  })
  @ApiServiceUnavailableResponse({
    type: ErrorMessageDto,
    description:
      'Every streaming connection (EXPORT_STREAM_CONNECTIONS) is busy, or the project already holds ' +
      'EXPORT_STREAM_CONNECTIONS_PER_PROJECT of them, or reading the events took longer than QUERY_STATEMENT_TIMEOUT_MS ' +
      '(narrow the timeframe or filter); with Retry-After.',
    examples: errorExamples('streamsBusy', 'statementTimeout'),
  })
  smallExport(
    @CurrentProject() project: ProjectContext,
    @CollectionParam() collection: string,
    @Query('query') query: unknown,
  ): Promise<StreamableFile> {
    return this.exports.smallExport(project.projectId, collection, query, project.keyFilters);
  }

  @Post(':collection/export')
  @HttpCode(HttpStatus.CREATED)
  @RequiresKey('query', 's3Exports', {
    tooManyRequests:
      'the project already has EXPORT_MAX_PENDING_PER_PROJECT unfinished (Pending or Running) exports ' +
      `(Retry-After: ${PENDING_CAP_RETRY_AFTER_SECONDS}), decided before the matching events are counted`,
    tooManyRequestsExample: 'tooManyPendingExports',
  })
  @JsonBody({ limitBytes: MAX_OTHER_BODY })
  @ApiOperation({
    summary: 'Export up to 1,000,000 events to Amazon S3 (Connect docs, "Exporting events": "Exporting to Amazon S3")',
    description:
      'Writes `<prefix><id>.json` (`<prefix><id>.json.gz` with `"compression": "gzip"`), one event per line, in the background. ' +
      'The `Location` header is the monitor URL. The body is the monitor document. A project may have at most ' +
      'EXPORT_MAX_PENDING_PER_PROJECT unfinished (Pending or Running) exports at once.',
  })
  @ApiParam(COLLECTION_PARAM)
  @ApiBody({ type: CreateS3ExportDto })
  @ApiCreatedResponse({
    type: ExportStatusDto,
    description: 'The export is created, Pending, and queued for a worker; the body is its monitor document.',
    headers: { Location: { description: 'Absolute URL of GET /events/:collection/export/:id', schema: { type: 'string' } } },
  })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description: `Invalid query (or one with select, groupBy or interval), ${QUERY_LIMITS}, invalid s3Path or credentials fields, or an invalid collection name.`,
    examples: errorExamples('invalidS3Export', 'invalidCollection'),
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorMessageDto,
    description: 'More than 1,000,000 events match.',
    examples: errorExamples('tooManyEventsToExport'),
  })
  @ApiServiceUnavailableResponse({
    type: ErrorMessageDto,
    description:
      'Counting the matching events took longer than QUERY_STATEMENT_TIMEOUT_MS (narrow the timeframe or filter), or the export ' +
      'queue (Redis) did not answer within REDIS_COMMAND_TIMEOUT_MS; with Retry-After.',
    examples: errorExamples('statementTimeout'),
  })
  async createS3Export(
    @CurrentProject() project: ProjectContext,
    @CollectionParam() collection: string,
    @Body() body: CreateS3ExportDto,
    @BaseUrl() baseUrl: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ExportStatusDto> {
    const created = await this.exports.createS3Export(project.projectId, collection, body, baseUrl, project.keyFilters);
    response.location(created.location);
    return created.status;
  }

  @Get(':collection/export/:id')
  @RequiresKey('query', 'queries')
  @ApiOperation({
    summary: 'Monitor an S3 export (Connect docs, "Exporting events": "Monitoring the export")',
    description:
      "The export's status (Pending, Running, Complete or Failed), progress and, once Complete, its object. Counted in the queries rate limit.",
  })
  @ApiParam(COLLECTION_PARAM)
  @ApiParam(EXPORT_ID_PARAM)
  @ApiOkResponse({ type: ExportStatusDto, description: 'The monitor document of the export.' })
  @ApiNotFoundResponse(EXPORT_NOT_FOUND)
  @ApiUnprocessableEntityResponse(INVALID_COLLECTION)
  status(
    @CurrentProject() project: ProjectContext,
    @CollectionParam() collection: string,
    @Param('id') id: string,
  ): Promise<ExportStatusDto> {
    return this.exports.status(project.projectId, collection, id);
  }

  @Delete(':collection/export/:id')
  @RequiresKey('query', 'queries')
  @ApiOperation({
    summary: 'Cancel an S3 export',
    description:
      'A Pending or Running export becomes Failed with `error` "The export was cancelled." and `finished` now; a Pending ' +
      'one never starts. The stored S3 credentials are wiped at once, or, when a multipart upload was begun, once the ' +
      'worker has aborted it. Counted in the queries rate limit.',
  })
  @ApiParam(COLLECTION_PARAM)
  @ApiParam(EXPORT_ID_PARAM)
  @ApiOkResponse({ type: ExportStatusDto, description: 'The monitor document of the cancelled export (status Failed).' })
  @ApiNotFoundResponse(EXPORT_NOT_FOUND)
  @ApiConflictResponse({
    type: ErrorMessageDto,
    description: 'The export has already finished (Complete or Failed), or its worker has begun completing its object.',
    examples: errorExamples('exportFinished'),
  })
  @ApiUnprocessableEntityResponse(INVALID_COLLECTION)
  cancel(
    @CurrentProject() project: ProjectContext,
    @CollectionParam() collection: string,
    @Param('id') id: string,
  ): Promise<ExportStatusDto> {
    return this.exports.cancel(project.projectId, collection, id);
  }
}

@ApiTags('exports')
@Controller('exports')
export class ExportListController {
  constructor(private readonly exports: ExportsService) {}

  @Get()
  @RequiresKey('query', 'queries')
  @ApiOperation({
    summary: "List the project's S3 exports",
    description:
      'Newest first (`created`, then `id`, descending), each export as its `id` and monitor document. Pages are ' +
      'keyset-paginated: pass `next` as `cursor` until it is null. Counted in the queries rate limit.',
  })
  @ApiOkResponse({ type: ExportListDto, description: 'One page of exports, and the cursor of the next (null on the last page).' })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description: 'Invalid `collection`, `status`, `limit` (1–100) or `cursor`; the error names the field.',
    examples: errorExamples('invalidExportListLimit'),
  })
  list(@CurrentProject() project: ProjectContext, @Query() params: ListExportsQueryDto, @Req() request: Request): Promise<ExportListDto> {
    return this.exports.list(project.projectId, params, Object.keys(request.query));
  }
}
