import 'dotenv/config';
import '../quiet-aws-sdk';
import 'reflect-metadata';
import { withProjectsService } from './projects-context';

/**
 * `npm run project:create -- <name>`: creates a project and prints
 * `{"projectId": "...", "name": "...", "keys": {...}}` (the keys are shown only this once).
 */
async function main(): Promise<void> {
  const name = process.argv.slice(2).join(' ').trim();
  if (!name) {
    console.error('usage: npm run project:create -- <name>');
    process.exit(2);
  }
  const created = await withProjectsService((projects) => projects.create(name.slice(0, 200)));
  console.log(JSON.stringify(created, null, 2));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
