import { Body, Controller, Header, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  COLLECTION_PARAM,
  CollectionParam,
  CurrentProject,
  errorExamples,
  ErrorMessageDto,
  JsonBody,
  MAX_BATCH_BODY,
  MAX_EVENT_BODY,
  RequiresKey,
  ValidationErrorDto,
} from '../common';
import type { ProjectContext } from '../projects';
import { BatchPushResponse, EventsService } from './events.service';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post(':collection')
  @HttpCode(HttpStatus.OK)
  // The body is empty, but typed: connect-rb reads every push answer's Content-Type (`content_type.include?
  // 'application/json'`, then parses an empty body as `{}`), and fails on a response without one.
  @Header('Content-Type', 'application/json; charset=utf-8')
  @RequiresKey('push', 'pushes')
  @JsonBody({ limitBytes: MAX_EVENT_BODY, allowProtoKeys: true })
  @ApiOperation({
    summary: 'Push one event (Connect docs, "Pushing events")',
    description:
      'Stores one event; the 200 answer means it is committed. `id` (optional, string or number) de-duplicates ' +
      'within the collection: a repeated id is accepted and stored once. `timestamp` (optional, ISO-8601, default now) ' +
      'is stored in UTC with millisecond precision.',
  })
  @ApiParam(COLLECTION_PARAM)
  @ApiBody({
    schema: { type: 'object', additionalProperties: true },
    examples: {
      purchase: {
        value: { customer: { firstName: 'Tom', lastName: 'Smith' }, product: '12 red roses', purchasePrice: 34.95 },
      },
    },
  })
  @ApiOkResponse({
    description: 'The event is stored: an empty body, with `Content-Type: application/json` (connect-rb reads it).',
    headers: { 'Content-Type': { description: '`application/json; charset=utf-8`.', schema: { type: 'string' } } },
  })
  @ApiBadRequestResponse({
    type: ErrorMessageDto,
    description: 'The body is not a JSON object, or sets a reserved property (`tp_…`, `_id`).',
    examples: errorExamples('eventNotObject', 'reservedTp', 'reservedId'),
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorMessageDto,
    description: 'The event is over 64 KB as stored.',
    examples: errorExamples('eventTooLarge'),
  })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description: 'Invalid property names, `id` or `timestamp`, or an invalid collection name; one entry per problem.',
    examples: errorExamples('invalidEvent', 'invalidCollection'),
  })
  async pushOne(@CurrentProject() project: ProjectContext, @CollectionParam() collection: string, @Body() body: unknown): Promise<void> {
    await this.events.pushOne(project.projectId, collection, body);
  }

  @Post()
  @HttpCode(HttpStatus.OK)
  @RequiresKey('push', 'pushes')
  @JsonBody({ limitBytes: MAX_BATCH_BODY, allowProtoKeys: true })
  @ApiOperation({
    summary: 'Push a batch of up to 5,000 events to one or more collections (Connect docs, "Pushing events, batches")',
    description: 'Answers 200 with one `{"success": ...}` per event, in request order, for each collection.',
  })
  @ApiBody({
    schema: { type: 'object', additionalProperties: { type: 'array', items: { type: 'object' } } },
    examples: {
      batch: {
        value: {
          purchases: [{ id: '1849506679', product: '12 red roses', purchasePrice: 34.95 }],
          refunds: [{ id: 'REF-1234', product: '12 red roses', purchasePrice: -34.95 }],
        },
      },
    },
  })
  @ApiOkResponse({
    description: 'The batch was read: per collection, one result per event in request order; the events with `"success": true` are stored.',
    schema: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        items: {
          type: 'object',
          required: ['success'],
          properties: { success: { type: 'boolean' }, message: { type: 'string' } },
        },
      },
      example: { purchases: [{ success: true }], refunds: [{ success: false, message: 'Maximum event size of 64kb exceeded.' }] },
    },
  })
  @ApiBadRequestResponse({
    type: ErrorMessageDto,
    description: 'The body is not `{collection: [events]}`. (An invalid event is not a 400: its entry says `"success": false`.)',
    examples: errorExamples('batchNotObject', 'batchNotArray'),
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorMessageDto,
    description: 'More than 5,000 events in the batch.',
    examples: errorExamples('batchTooLarge'),
  })
  pushBatch(@CurrentProject() project: ProjectContext, @Body() body: unknown): Promise<BatchPushResponse> {
    return this.events.pushBatch(project.projectId, body);
  }
}
