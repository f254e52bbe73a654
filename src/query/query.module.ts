import { Module } from '@nestjs/common';
import { QueryController } from './query.controller';
import { QueryRepository } from './query.repository';
import { QueryService } from './query.service';

/** E5, the aggregation query endpoint (Connect docs, "Querying"). The parsers and compilers beside it are pure modules. */
@Module({
  controllers: [QueryController],
  providers: [QueryService, QueryRepository],
})
export class QueryModule {}
