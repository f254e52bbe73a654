/**
 * `npm run bench -- [options]` (through bench/run.sh, after the set-up): runs the harness, prints the
 * table and writes `latest.json` and `latest.md`. Exits 0 whether or not the targets are met (the
 * table says which are); 1 when the run itself fails. Options: bench/lib/options.ts or `--help`.
 */
import 'dotenv/config';
import { runBench } from './harness';
import { parseOptions } from './lib/options';
import { consoleTable, writeResults } from './lib/report';

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const results = await runBench(options);
  const files = writeResults(options.outDir, results);
  process.stdout.write(`\n${consoleTable(results)}\n\n`);
  process.stdout.write(`Written: ${files.json}, ${files.md}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
