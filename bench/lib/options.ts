import path from 'node:path';
import { repoRoot } from './paths';

/** The five benchmarks (bench/README.md). */
export const BENCHMARKS = ['b1', 'b2', 'b3', 'b4', 'b5'] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

/** Everything a run of the harness is told, from the command line (`npm run bench -- --events 100000`). */
export interface BenchOptions {
  /** Events in the data set (default 1,000,000). */
  events: number;
  /** Batches in flight at once during B1, for `POST /events` and for the COPY baseline alike (default 4). */
  concurrency: number;
  /** Events per `POST /events` batch and per COPY statement (default 5,000, the API's maximum). */
  batchSize: number;
  /** Timed runs per query (B2) and per small export (B3); p50 and p95 are taken over them (default 20). */
  runs: number;
  /** Untimed runs before the timed ones, per query (default 2). */
  warmup: number;
  /** Seed of the data set: same seed and size, same events (default 2015). */
  seed: number;
  /** Where latest.json and latest.md are written (default bench/results). */
  outDir: string;
  /** Cached data sets, service logs and CPU profiles (default bench/data, git-ignored). */
  workDir: string;
  /** The database the harness drops, recreates and benchmarks in (default connect_bench). */
  database: string;
  /** Which benchmarks to measure (default all). Data is always pushed through HTTP. */
  only: ReadonlySet<BenchmarkName>;
  /** Run the service processes under `node --cpu-prof`, profiles into `<workDir>/runs/<run>/profiles/`. */
  cpuProf: boolean;
  /** Extra node flags for the service processes (e.g. `--max-semi-space-size=64`), to try a tuning without editing src/. */
  serviceNodeFlags: string[];
  /** The command line, as recorded in the results. */
  command: string;
}

const USAGE = `Usage: npm run bench -- [options]

  --events N        events in the data set (default 1000000)
  --concurrency N   batches in flight during ingest, HTTP and COPY alike (default 4)
  --batch N         events per batch, at most 5000 (default 5000)
  --runs N          timed runs per query and small export (default 20)
  --warmup N        untimed runs before them (default 2)
  --seed N          data set seed (default 2015)
  --out DIR         where latest.json and latest.md go (default bench/results)
  --work DIR        data set cache, logs, profiles (default bench/data)
  --database NAME   database to drop, recreate and use (default connect_bench)
  --only LIST       comma-separated subset of b1,b2,b3,b4,b5 (default all)
  --cpu-prof        profile the service processes (node --cpu-prof) into <work>/runs/<run>/profiles/
  --service-node-flags "FLAGS"
                    extra node flags for the service processes, e.g. "--max-semi-space-size=64"
`;

/**
 * Parses the harness's command line.
 * @throws Error with the usage text for an unknown flag or a bad value.
 */
export function parseOptions(argv: string[]): BenchOptions {
  const root = repoRoot();
  const options: BenchOptions = {
    events: 1_000_000,
    concurrency: 4,
    batchSize: 5000,
    runs: 20,
    warmup: 2,
    seed: 2015,
    outDir: path.join(root, 'bench', 'results'),
    workDir: path.join(root, 'bench', 'data'),
    database: 'connect_bench',
    only: new Set(BENCHMARKS),
    cpuProf: false,
    serviceNodeFlags: [],
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  };
  const fail = (message: string): never => {
    throw new Error(`${message}\n\n${USAGE}`);
  };
  const integer = (flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = Number(value?.replace(/[_,]/g, ''));
    if (value === undefined || !Number.isInteger(n) || n < min || n > max) {
      fail(`${flag} needs an integer from ${min} to ${max}, got ${value ?? 'nothing'}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case '--events':
        options.events = integer(flag, value(), 1, 1_000_000);
        break;
      case '--concurrency':
        options.concurrency = integer(flag, value(), 1, 64);
        break;
      case '--batch':
        options.batchSize = integer(flag, value(), 1, 5000);
        break;
      case '--runs':
        options.runs = integer(flag, value(), 1, 1000);
        break;
      case '--warmup':
        options.warmup = integer(flag, value(), 0, 100);
        break;
      case '--seed':
        options.seed = integer(flag, value(), 0, 2 ** 31 - 1);
        break;
      case '--out':
        options.outDir = path.resolve(value() ?? fail('--out needs a directory'));
        break;
      case '--work':
        options.workDir = path.resolve(value() ?? fail('--work needs a directory'));
        break;
      case '--database': {
        const name = value() ?? '';
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) fail(`--database needs a lower-case SQL identifier, got '${name}'`);
        options.database = name;
        break;
      }
      case '--only': {
        const names = (value() ?? '').toLowerCase().split(',').filter(Boolean);
        const unknown = names.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
        if (names.length === 0 || unknown.length > 0) fail(`--only takes a list of ${BENCHMARKS.join(', ')}`);
        options.only = new Set(names as BenchmarkName[]);
        break;
      }
      case '--cpu-prof':
        options.cpuProf = true;
        break;
      case '--service-node-flags':
        options.serviceNodeFlags = (value() ?? fail('--service-node-flags needs flags')).split(/\s+/).filter(Boolean);
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return process.exit(0);
      default:
        fail(`unknown option '${flag}'`);
    }
  }
  return options;
}
