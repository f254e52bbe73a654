import { Inject, Injectable } from '@nestjs/common';
import { TooManyResultsError } from '../common';
import { limitsConfig, LimitsConfig } from '../config';
import { Metrics } from '../metrics';
import { compileAggregation } from './aggregation-compiler';
import { parseAggregationQuery } from './aggregation-query';
import { QueryResponseDto } from './dto/query-response.dto';
import { intervalBoundaries } from './interval';
import { MAX_QUERY_RESULTS } from './query.constants';
import type { FilterCondition } from './query.types';
import { parseQueryParam } from './query-document';
import { shapeQueryResponse } from './query-results';
import { QueryRepository } from './query.repository';
import { toLuxonZone } from './timezone';

export const TOO_MANY_RESULTS_MESSAGE =
  `The query would return more than ${MAX_QUERY_RESULTS.toLocaleString('en-US')} results; ` +
  'narrow the timeframe or filter, or group by fewer properties.';

/** Aggregation queries (Connect docs, "Querying", E5): parse, compile to one SQL statement, shape the rows. */
@Injectable()
export class QueryService {
  constructor(
    private readonly repository: QueryRepository,
    @Inject(limitsConfig.KEY) private readonly limitsConfig: LimitsConfig,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Runs E5 `GET /events/:collection?query=` for one project's collection; a collection without events
   * (or never pushed to) answers like an empty one.
   * @param rawQuery the URL-decoded `query` parameter (relaxed JSON) as Express gives it: undefined when
   *   missing, an array when repeated (a 422, see `parseQueryParam`).
   * @param keyFilters the conditions of a filtered key (ProjectContext.keyFilters), ANDed with the query's (docs/keys.md).
   * @returns the body of Connect docs, "Query results" (plain, grouped, interval or interval + grouped);
   *   counted in `queries_total{kind}` (docs/monitoring.md).
   * @throws ValidationError (422) for an invalid query (docs/query-language.md, "Filters and timeframes"), or one over a cap of LimitsConfig.query;
   *         TooManyResultsError (413) for more than 10,000 buckets or result rows.
   */
  async query(
    projectId: string,
    collection: string,
    rawQuery: unknown,
    keyFilters: readonly FilterCondition[] = [],
  ): Promise<QueryResponseDto> {
    const limits = this.limitsConfig.query;
    const query = parseAggregationQuery(parseQueryParam(rawQuery, limits.maxDocumentChars), new Date(), limits, keyFilters);
    const zone = toLuxonZone(query.selection.timezone);
    const boundaries = query.interval ? intervalBoundaries(query.selection.timeframe, query.interval, zone, MAX_QUERY_RESULTS) : null;
    const bucketStarts = boundaries?.slice(0, -1).map((boundary) => boundary.epochMs) ?? null;
    const statement = compileAggregation(query, { projectId, collection }, bucketStarts, MAX_QUERY_RESULTS + 1);
    const rows = await this.repository.aggregate(statement);
    if (rows.length > MAX_QUERY_RESULTS) throw new TooManyResultsError(TOO_MANY_RESULTS_MESSAGE);
    const answer = shapeQueryResponse(query, rows, boundaries);
    this.metrics.queries.inc({ kind: query.select.length === 1 ? query.select[0].operation : 'multi' });
    return answer;
  }
}
