/**
 * Summarises V8 CPU profiles (`.cpuprofile`, from `npm run bench -- --cpu-prof`):
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile | folder> [--top 25]
 *
 * Prints self time by function (with file:line) and by area (a package in node_modules, a file of
 * the project, Node's internals, GC, idle), as milliseconds and shares of the busy (non-idle) time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: `pkg:<name>`, `src/…`, `node:internal`, or a V8 pseudo-frame. */
function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `pkg:${nm[1]}`;
  if (url.startsWith('node:')) return 'node:internal';
  const dist = /\/dist\/(.*)$/.exec(url);
  if (dist) return dist[1].replace(/\.js$/, '.ts');
  return url;
}

function label(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = /node_modules\/(.*)$/.exec(frame.url)?.[1] ?? /\/dist\/(.*)$/.exec(frame.url)?.[1] ?? frame.url.replace(/^file:\/\//, '');
  return `${name}  ${file}:${frame.lineNumber + 1}`;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  byFunction: Array<{ label: string; ms: number }>;
  byArea: Array<{ area: string; ms: number }>;
}

export function summarise(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample; it is attributed to sample i.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    fn.set(label(frame), (fn.get(label(frame)) ?? 0) + us);
    area.set(areaOf(frame), (area.get(areaOf(frame)) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  const wallUs = profile.endTime - profile.startTime;
  return {
    file,
    wallMs: wallUs / 1000,
    busyMs: (wallUs - idleUs) / 1000,
    byFunction: sorted(fn).map(([l, us]) => ({ label: l, ms: us / 1000 })),
    byArea: sorted(area).map(([a, us]) => ({ area: a, ms: us / 1000 })),
  };
}

function print(summary: ProfileSummary, top: number): void {
  const pct = (ms: number): string => `${((ms / summary.busyMs) * 100).toFixed(1).padStart(5)} %`;
  const row = (ms: number, text: string): string => `${ms.toFixed(0).padStart(8)} ms ${pct(ms)}  ${text}`;
  console.log(`\n${summary.file}`);
  console.log(`wall ${(summary.wallMs / 1000).toFixed(1)} s, busy (not idle) ${(summary.busyMs / 1000).toFixed(1)} s`);
  console.log('\nself time by area:');
  for (const a of summary.byArea.slice(0, top)) console.log(row(a.ms, a.area));
  console.log('\nself time by function:');
  for (const f of summary.byFunction.slice(0, top)) console.log(row(f.ms, f.label));
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  if (args.length === 0) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile | folder>... [--top N]');
    process.exit(2);
  }
  const files = args.flatMap((arg) =>
    statSync(arg).isDirectory()
      ? readdirSync(arg, { recursive: true, encoding: 'utf8' })
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(arg, f))
      : [arg],
  );
  for (const file of files) print(summarise(file), top);
}

if (require.main === module) main();
