import 'dotenv/config';
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadSection } from './src/config/configuration';
import { dataSourceOptions } from './src/database/data-source-options';

/** TypeORM CLI data source (`npm run migration:revert`, `typeorm migration:generate`); `npm run migration:run` takes the migration lock instead (src/cli/migrate.ts). */
export default new DataSource(dataSourceOptions(loadSection('database').url));
