import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { FILTER_OPERATORS } from '../filter';
import { INTERVAL_UNITS } from '../interval';
import { PROPERTY_OPERATIONS } from '../select';
import { NAMED_TIMEFRAMES, RELATIVE_UNITS } from '../timeframe';

const RELATIVE_UNIT_OBJECT = {
  type: 'object',
  description: 'Exactly one unit with a positive integer count.',
  properties: Object.fromEntries(RELATIVE_UNITS.map((unit) => [unit, { type: 'integer', minimum: 1 }])),
  minProperties: 1,
  maxProperties: 1,
};

/**
 * The query document of E5, sent JSON-encoded (relaxed JSON accepted) in the `query` URL parameter
 * (Connect docs, "Querying"). For the OpenAPI document only: parsing is `parseAggregationQuery`.
 */
export class QueryDocumentDto {
  @ApiProperty({
    description:
      'Alias → aggregation (Connect docs, "Aggregations"), 1 to 100 aliases. An alias becomes a key of every result row (case kept; not `_count`, ' +
      'not a groupBy key). Only JSON numbers are aggregated; a property without numeric values gives null.',
    type: 'object',
    additionalProperties: {
      oneOf: [
        { type: 'string', enum: ['count'] },
        {
          type: 'object',
          description: 'Exactly one operation, whose value is a dotted property path.',
          properties: Object.fromEntries(PROPERTY_OPERATIONS.map((op) => [op, { type: 'string', example: 'price' }])),
          minProperties: 1,
          maxProperties: 1,
        },
      ],
    },
    example: { itemsSold: 'count', totalPrice: { sum: 'price' }, averagePrice: { avg: 'price' } },
  })
  select: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      `Property path → value (eq), array (in) or {operator: operand} (Connect docs, "Filters"); all conditions are ANDed. ` +
      `Operators: ${FILTER_OPERATORS.join(', ')}. \`{}\` means no filter.`,
    type: 'object',
    additionalProperties: true,
    example: { 'product.category': { in: ['Bikes', 'Books'] }, price: { gt: 5, lt: 10 } },
  })
  filter?: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'One dotted property path or several, at most 20 (Connect docs, "Group by"). Missing and null values form the null group. `[]` means not grouped.',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['country', 'product.category'],
  })
  groupBy?: string | string[];

  @ApiPropertyOptional({
    description:
      'All time when absent (Connect docs, "Timeframes"). Absolute bounds are ISO-8601 (start inclusive, end exclusive, either may be open; ' +
      'an interval needs both). Relative timeframes follow the query timezone (UTC by default); weeks start on Sunday.',
    oneOf: [
      { type: 'string', enum: [...NAMED_TIMEFRAMES.keys()] },
      { type: 'object', properties: { current: RELATIVE_UNIT_OBJECT }, required: ['current'] },
      { type: 'object', properties: { previous: RELATIVE_UNIT_OBJECT }, required: ['previous'] },
      {
        type: 'object',
        properties: { start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } },
      },
    ],
    example: { start: '2015-02-01T00:00:00.000Z', end: '2015-02-25T00:00:00.000Z' },
  })
  timeframe?: string | Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'Buckets of the timeframe on the calendar of the query timezone (Connect docs, "Intervals"); needs a timeframe with a start and an end. ' +
      'Every bucket is returned, in ascending order, empty ones with `"results": []`.',
    enum: [...INTERVAL_UNITS.keys()],
    example: 'daily',
  })
  interval?: string;

  @ApiPropertyOptional({
    description:
      'Decimal hours east of UTC (-12…14, e.g. 10.5) or an IANA zone name (Connect docs, "Timezones"). Allowed with an interval and/or a relative ' +
      'timeframe; with an absolute timeframe only together with an interval.',
    oneOf: [{ type: 'number', minimum: -12, maximum: 14 }, { type: 'string' }],
    example: 'Australia/Brisbane',
  })
  timezone?: number | string;
}
