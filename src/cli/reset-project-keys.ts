import 'dotenv/config';
import '../quiet-aws-sdk';
import 'reflect-metadata';
import { withProjectsService } from './projects-context';

/**
 * `npm run project:reset-keys -- <projectId>`: replaces the project's four keys, as
 * `POST /projects/:projectId/keys/reset` does (docs/keys.md, "Resetting keys"), and prints
 * `{"projectId": "...", "name": "...", "keys": {...}}` (the new keys are shown only this once).
 * Exit status 2 without a project id, 1 when there is no such project (or on any other error).
 */
async function main(): Promise<void> {
  const args = process.argv
    .slice(2)
    .map((arg) => arg.trim())
    .filter(Boolean);
  if (args.length !== 1) {
    console.error('usage: npm run project:reset-keys -- <projectId>');
    process.exit(2);
  }
  const reset = await withProjectsService((projects) => projects.resetKeys(args[0]));
  if (!reset) {
    console.error(`No project '${args[0].slice(0, 64)}'.`);
    process.exitCode = 1;
    return;
  }
  console.log(JSON.stringify(reset, null, 2));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
