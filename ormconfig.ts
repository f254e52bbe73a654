import 'dotenv/config';
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options';

/** TypeORM CLI data source (`npm run migration:revert`, `typeorm migration:generate`); `npm run migration:run` takes the migration lock instead (src/cli/migrate.ts). */
export default new DataSource(dataSourceOptions(process.env.DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/connect'));
