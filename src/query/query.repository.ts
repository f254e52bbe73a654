import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AggregationStatement } from './aggregation-compiler';
import type { AggregateRow } from './query-results';

/** Runs compiled aggregation statements (aggregation-compiler.ts); reads only. */
@Injectable()
export class QueryRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Runs one aggregation statement; rows as `pg` returns them (bigint and numeric as strings). */
  aggregate(statement: AggregationStatement): Promise<AggregateRow[]> {
    return this.dataSource.query(statement.text, statement.values);
  }
}
