import { Controller, Get, Query, UseInterceptors } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiHeader,
  ApiNotModifiedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import {
  COLLECTION_PARAM,
  CollectionParam,
  CurrentProject,
  errorExamples,
  ErrorMessageDto,
  EtagInterceptor,
  RequiresKey,
  ValidationErrorDto,
} from '../common';
import type { ProjectContext } from '../projects';
import { QueryDocumentDto } from './dto/query-document.dto';
import { IntervalResultDto, QueryResponseDto } from './dto/query-response.dto';
import { QueryService } from './query.service';

/** Examples of the result shapes of Connect docs, "Query results" (test vectors 6, 10, 11). */
const RESULT_EXAMPLES = {
  plain: {
    summary: 'select only (vector 6)',
    value: {
      metadata: { groups: [], interval: null, timezone: null },
      results: [{ itemsSold: 25, totalPrice: 5493.25, averagePrice: 219.73, minPrice: 5.49, maxPrice: 589.2, _count: 25 }],
    },
  },
  grouped: {
    summary: 'groupBy (vector 10)',
    value: {
      metadata: { groups: ['country'], interval: null, timezone: null },
      results: [
        { country: 'Australia', totalPrice: 1000000, _count: 2 },
        { country: 'Italy', totalPrice: 2500000, _count: 1 },
        { country: 'United States', totalPrice: 10000000, _count: 2 },
      ],
    },
  },
  interval: {
    summary: 'interval (vector 11)',
    value: {
      metadata: { groups: [], interval: 'daily', timezone: null },
      results: [
        {
          interval: { start: '2015-02-01T00:00:00+00:00', end: '2015-02-02T00:00:00+00:00' },
          results: [{ totalPrice: 500000, _count: 3 }],
        },
        {
          interval: { start: '2015-02-02T00:00:00+00:00', end: '2015-02-03T00:00:00+00:00' },
          results: [{ totalPrice: 150000, _count: 3 }],
        },
      ],
    },
  },
  intervalInTimezone: {
    summary: 'interval in a timezone; a bucket without events has "results": []',
    value: {
      metadata: { groups: [], interval: 'daily', timezone: 'Australia/Brisbane' },
      results: [
        {
          interval: { start: '2015-02-01T00:00:00+10:00', end: '2015-02-02T00:00:00+10:00' },
          results: [{ totalPrice: 500000, _count: 3 }],
        },
        { interval: { start: '2015-02-02T00:00:00+10:00', end: '2015-02-03T00:00:00+10:00' }, results: [] },
      ],
    },
  },
  intervalGrouped: {
    summary: 'interval + groupBy (vector 11)',
    value: {
      metadata: { groups: ['country'], interval: 'daily', timezone: null },
      results: [
        {
          interval: { start: '2015-02-01T00:00:00+00:00', end: '2015-02-02T00:00:00+00:00' },
          results: [
            { country: 'Australia', totalPrice: 100000, _count: 1 },
            { country: 'Italy', totalPrice: 100000, _count: 1 },
            { country: 'United States', totalPrice: 300000, _count: 1 },
          ],
        },
      ],
    },
  },
};

@ApiTags('query')
@ApiExtraModels(QueryDocumentDto, IntervalResultDto)
@Controller('events')
export class QueryController {
  constructor(private readonly queries: QueryService) {}

  @Get(':collection')
  @RequiresKey('query', 'queries')
  @UseInterceptors(EtagInterceptor)
  @ApiOperation({
    summary: 'Run an aggregation query (Connect docs, "Querying")',
    description:
      "Counts, sums, averages, minimums and maximums over the collection's events, optionally grouped by properties and " +
      'bucketed by interval, computed in one SQL statement. A collection without events answers like an empty one.',
  })
  @ApiParam(COLLECTION_PARAM)
  @ApiQuery({
    name: 'query',
    required: true,
    description: "The query document, JSON-encoded (relaxed JSON such as `{select:{n:'count'}}` accepted). Unknown keys are ignored.",
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(QueryDocumentDto) },
        examples: {
          aggregations: { value: { select: { itemsSold: 'count', totalPrice: { sum: 'price' } }, filter: { product: '12 red roses' } } },
          groupBy: { value: { select: { totalPrice: { sum: 'price' } }, groupBy: ['country', 'product.category'] } },
          interval: {
            value: { select: { totalPrice: { sum: 'price' } }, timeframe: 'this_month', interval: 'daily', timezone: 'Australia/Brisbane' },
          },
        },
      },
    },
  })
  @ApiHeader({
    name: 'If-None-Match',
    required: false,
    description: 'An ETag of an earlier response; answered with 304 when the result is unchanged.',
  })
  @ApiOkResponse({
    type: QueryResponseDto,
    description: 'The result; see the examples for each shape.',
    headers: {
      ETag: { description: 'Strong tag of this body (connect-js `cacheKey`).', schema: { type: 'string' } },
      'Cache-Control': { description: '`private, no-cache`.', schema: { type: 'string' } },
    },
    examples: RESULT_EXAMPLES,
  })
  @ApiNotModifiedResponse({ description: 'If-None-Match holds the current ETag: the result is unchanged (empty body).' })
  @ApiUnprocessableEntityResponse({
    type: ValidationErrorDto,
    description:
      'Invalid query: not JSON (`{"field": "query", "description": "The query JSON supplied is not valid."}`), missing or ' +
      'invalid select, groupBy, interval, filter, timeframe or timezone, a timezone not allowed with that timeframe (docs/query-language.md, "Filters and timeframes"), an interval ' +
      'without a bounded timeframe, a query over a limit (QUERY_MAX_FILTER_CONDITIONS, QUERY_MAX_IN_VALUES, ' +
      'QUERY_MAX_DOCUMENT_CHARS), or an invalid collection name. One entry per problem.',
    examples: errorExamples('invalidQueryJson', 'invalidQuery', 'invalidCollection'),
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorMessageDto,
    description: 'Too Many Results: more than 10,000 result rows, or an interval with more than 10,000 buckets.',
    examples: errorExamples('tooManyResults', 'tooManyBuckets'),
  })
  @ApiServiceUnavailableResponse({
    type: ErrorMessageDto,
    description:
      'The query took longer than QUERY_STATEMENT_TIMEOUT_MS: narrow the timeframe or filter, or group by fewer properties. With Retry-After.',
    examples: errorExamples('statementTimeout'),
  })
  query(
    @CurrentProject() project: ProjectContext,
    @CollectionParam() collection: string,
    @Query('query') query: unknown,
  ): Promise<QueryResponseDto> {
    return this.queries.query(project.projectId, collection, query, project.keyFilters);
  }
}
