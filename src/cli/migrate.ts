import 'dotenv/config';
import '../quiet-aws-sdk';
import 'reflect-metadata';
import { loadSection } from '../config';
import { runMigrationsLocked } from '../database';

/**
 * `npm run migration:run`: applies pending migrations to DATABASE_URL under the same advisory lock
 * the service takes at start, so it is safe while processes are starting. Reads only the database section.
 */
async function main(): Promise<void> {
  const applied = await runMigrationsLocked(loadSection('database').url);
  console.log(applied.length === 0 ? 'no pending migrations' : applied.map((name) => `applied migration ${name}`).join('\n'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
