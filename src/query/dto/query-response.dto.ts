import type { ExactNumber } from '../../common';
import { ApiProperty } from '@nestjs/swagger';
import { INTERVAL_UNITS } from '../interval';
import type { IntervalName } from '../query.types';

/**
 * A value in a result row: a group's value as stored (any JSON) or an aggregate (a number or null).
 * Numbers a double would not hold exactly are ExactNumbers (common/json-text.ts).
 */
export type ResultValue = string | number | ExactNumber | boolean | null | ResultValue[] | { [key: string]: ResultValue };

/**
 * One result row (Connect docs, "Query results"): each groupBy key (its full dotted path) with the group's value,
 * then each alias with its aggregate, then `_count`, the number of events in the row.
 */
export type QueryResultRow = Record<string, ResultValue>;

/** OpenAPI schema of a result row; its keys are the query's group keys and aliases. */
export const RESULT_ROW_SCHEMA = {
  type: 'object',
  description:
    'Group keys (full dotted paths, with the group value; null for events missing the property), then the aliases ' +
    '(JSON numbers; null when no event had a numeric value), then `_count`.',
  properties: { _count: { type: 'integer', minimum: 0, description: 'Number of events aggregated into this row.' } },
  required: ['_count'],
  additionalProperties: true,
  example: { country: 'Australia', totalPrice: 1000000, _count: 12 },
};

/** `metadata` of every query response (Connect docs, "Query results", common/querying/metadata.md). */
export class QueryMetadataDto {
  @ApiProperty({ type: [String], example: ['country'], description: 'The groupBy keys, in query order (empty when not grouped).' })
  groups: string[];

  @ApiProperty({ enum: [...INTERVAL_UNITS.keys()], nullable: true, example: 'daily', description: 'The interval, or null.' })
  interval: IntervalName | null;

  @ApiProperty({
    oneOf: [{ type: 'number' }, { type: 'string' }],
    nullable: true,
    example: 'Australia/Brisbane',
    description: 'The timezone as given (decimal hours or IANA name), or null when none was given (UTC).',
  })
  timezone: number | string | null;
}

/** The time span of one interval bucket: `start <= timestamp < end`. */
export class IntervalBoundsDto {
  @ApiProperty({ example: '2015-02-01T00:00:00+00:00', description: "ISO-8601 with the query timezone's offset at that instant." })
  start: string;

  @ApiProperty({ example: '2015-02-02T00:00:00+00:00', description: "ISO-8601 with the query timezone's offset; exclusive." })
  end: string;
}

/** One bucket of an interval query (Connect docs, "Query results"): its span and its rows (none when it holds no event). */
export class IntervalResultDto {
  @ApiProperty({ type: IntervalBoundsDto })
  interval: IntervalBoundsDto;

  @ApiProperty({
    type: 'array',
    items: RESULT_ROW_SCHEMA,
    description: 'No rows when the bucket holds no events; one row without groupBy; one row per group with groupBy.',
  })
  results: QueryResultRow[];
}

/** The body of a successful query (Connect docs, "Query results"). */
export class QueryResponseDto {
  @ApiProperty({ type: QueryMetadataDto })
  metadata: QueryMetadataDto;

  @ApiProperty({
    description:
      'Without interval: result rows (exactly one without groupBy, one per group with it). ' +
      'With interval: one entry per bucket of the timeframe, in ascending order.',
    oneOf: [
      { type: 'array', items: RESULT_ROW_SCHEMA },
      { type: 'array', items: { $ref: '#/components/schemas/IntervalResultDto' } },
    ],
  })
  results: QueryResultRow[] | IntervalResultDto[];
}
