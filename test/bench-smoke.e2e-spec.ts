import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadSection } from '../src/config/configuration';

/**
 * Smoke run of the benchmark harness (bench/) on 10,000 events, end to end: the compiled
 * harness starts its own service, database and S3 server, measures B1–B5 and writes its results,
 * here into a temporary folder (never over the committed bench/results/latest.*). Asserts the
 * results' shape and that every ratio is a positive finite number; not the targets, which only a
 * full run on a quiet machine can judge.
 */
const root = path.resolve(__dirname, '..');
const harness = path.join(root, 'dist', 'bench', 'main.js');

/** The newest modification time of the .ts files under `dir`. */
function newestSource(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return Math.max(newest, newestSource(full));
    return entry.name.endsWith('.ts') ? Math.max(newest, statSync(full).mtimeMs) : newest;
  }, 0);
}

/** Every `ratio` (a number, or `{p50, p95}`) and `growth` in the results, with where it is. */
function ratiosIn(value: unknown, at = '$'): Array<[string, number]> {
  if (Array.isArray(value)) return value.flatMap((v, i) => ratiosIn(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]): Array<[string, number]> => {
    if (key === 'ratio' && typeof v === 'number') return [[`${at}.ratio`, v]];
    if (key === 'ratio' && v && typeof v === 'object')
      return Object.entries(v).map(([k, n]): [string, number] => [`${at}.ratio.${k}`, n as number]);
    if (key === 'growth') return [[`${at}.growth`, v as number]];
    return ratiosIn(v, `${at}.${key}`);
  });
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const child = spawn(process.execPath, ['--no-warnings', harness, ...args], { cwd: root, env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('bench: smoke run on 10,000 events', () => {
  let dir: string;
  const committed = path.join(root, 'bench', 'results', 'latest.json');
  const committedBefore = existsSync(committed) ? readFileSync(committed, 'utf8') : null;
  // A database of this checkout's own, like the tests' (two checkouts can run this at once).
  const database = `connect_bench_smoke_${createHash('sha256').update(root).digest('hex').slice(0, 8)}`;

  beforeAll(() => {
    if (!existsSync(harness) || statSync(harness).mtimeMs < newestSource(path.join(root, 'bench'))) {
      throw new Error('dist/bench is missing or older than bench/: run `npm run build` first (`npm test` does).');
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    // The harness keeps its database for bench/explain.ts; the smoke run's is of no further use.
    const admin = new URL(loadSection('database').url);
    admin.pathname = '/postgres';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => client.end());
  });

  it('measures B1–B5 and writes latest.json and latest.md with positive finite ratios', async () => {
    const { code, output } = await run([
      '--events',
      '10000',
      '--runs',
      '3',
      '--warmup',
      '1',
      '--out',
      dir,
      '--work',
      path.join(dir, 'work'),
      '--database',
      database,
    ]);
    if (code !== 0) throw new Error(`the harness exited with ${code}:\n${output}`);

    const results = JSON.parse(readFileSync(path.join(dir, 'latest.json'), 'utf8'));
    const markdown = readFileSync(path.join(dir, 'latest.md'), 'utf8');
    // The committed results are untouched.
    expect(existsSync(committed) ? readFileSync(committed, 'utf8') : null).toBe(committedBefore);

    expect(results).toMatchObject({
      schemaVersion: 1,
      command: expect.stringContaining('--events 10000'),
      machine: { cores: expect.any(Number), memoryBytes: expect.any(Number) },
      versions: { node: process.versions.node, postgres: expect.stringMatching(/^\d+/), redis: expect.stringMatching(/^\d+/) },
      config: { events: 10000, batchSize: 5000, runs: 3 },
      dataset: { events: 10000 },
    });
    expect(Object.keys(results.dataset.collections)).toEqual(['purchases', 'carts', 'refunds']);
    expect(Object.values<number>(results.dataset.collections).reduce((a, b) => a + b, 0)).toBe(10000);
    expect(results.dataset.averageEventBytes).toBeGreaterThan(300);

    expect(results.b1).toMatchObject({
      events: 10000,
      service: { eventsPerSecond: expect.any(Number) },
      baseline: { eventsPerSecond: expect.any(Number) },
    });
    if (results.b2.available) {
      expect(results.b2.queries).toHaveLength(6);
      for (const q of results.b2.queries) {
        expect(q).toMatchObject({ answersMatch: true, service: { p50Ms: expect.any(Number) }, baseline: { p50Ms: expect.any(Number) } });
        expect(q.service.samplesMs).toHaveLength(3);
      }
    } else {
      expect(results.b2).toEqual({ available: false, skipped: 'query endpoint not available' });
    }
    expect(results.b3).toMatchObject({ answersMatch: true, events: expect.any(Number) });
    expect(results.b3.events).toBeGreaterThan(0);
    expect(results.b4.phases.map((p: { label: string }) => p.label)).toEqual(['N/10', 'N']);
    expect(results.b4.phases[1].events).toBe(10000);
    for (const phase of results.b4.phases) {
      // Same NDJSON bytes (SHA-256 read back from S3), and a manifest stating the service's object.
      expect(phase.exports.map((e: { identical: boolean; manifestMatches: boolean }) => [e.identical, e.manifestMatches])).toEqual(
        phase.exports.map(() => [true, true]),
      );
      expect(phase.exports.every((e: { service: { sha256: string } }) => /^[0-9a-f]{64}$/.test(e.service.sha256))).toBe(true);
      expect(phase.workerPeakRssBytes).toBeGreaterThan(0);
    }
    // Until the API takes `compression`, the gzip row says why it was skipped; once it does, the content must match.
    if ('skipped' in results.b4.gzip) expect(results.b4.gzip.skipped).toMatch(/compression/);
    else expect(results.b4.gzip.exports.every((e: { identical: boolean }) => e.identical)).toBe(true);
    // 10,000 events are one part per export: too small to kill a worker half-way.
    expect(results.b4.resume).toEqual({ skipped: expect.stringContaining('nothing to interrupt') });

    // B5: the object's first 1,000 lines, then all 10,000; each side stored exactly those events (count and checksum).
    expect(results.b5).toMatchObject({
      batchLines: expect.any(Number),
      withIds: true,
      met: { ratio: expect.any(Boolean), peakRss: expect.any(Boolean) },
    });
    expect(results.b5.phases.map((p: { label: string; events: number }) => [p.label, p.events])).toEqual([
      ['N/10', 1000],
      ['N', 10000],
    ]);
    for (const phase of results.b5.phases) {
      expect(phase.identical).toBe(true);
      expect(phase.service).toMatchObject({
        importedEvents: phase.events,
        duplicateEvents: 0,
        eventErrors: 0,
        stored: { events: phase.events },
      });
      expect(phase.baseline.stored).toEqual(phase.service.stored);
      expect(phase.service.stored.checksum).toMatch(/^[1-9]\d*$/);
      expect(phase.baseline.copies).toBe(Math.ceil(phase.events / results.b5.batchLines));
      expect(phase.workerPeakRssBytes).toBeGreaterThan(0);
      expect([phase.service.seconds, phase.baseline.seconds].every((s: number) => Number.isFinite(s) && s > 0)).toBe(true);
    }
    expect(results.b5.phases.map((p: { first: string }) => p.first)).toEqual(['service', 'baseline']);

    const ratios = ratiosIn(results);
    // B1, B2 (p50 and p95 each) or none, B3 (p50, p95), B4 (two phases, top level), RSS growth, B5 (two phases, top level), RSS growth.
    expect(ratios.length).toBeGreaterThanOrEqual(1 + 2 + 3 + 1 + 3 + 1);
    for (const [where, ratio] of ratios) {
      expect({ where, positiveFinite: Number.isFinite(ratio) && ratio > 0 }).toEqual({ where, positiveFinite: true });
    }

    expect(markdown).toContain('| benchmark | service | baseline (physical limit) | ratio | target | met |');
    expect(markdown).toMatch(/Versions: Node .+, PostgreSQL .+, Redis .+/);
    for (const name of [
      'B1 ingest',
      'B3 small export',
      'B4 S3 export N/10',
      'B4 export worker peak RSS',
      'B5 S3 import N/10',
      'B5 S3 import N:',
      'B5 import worker peak RSS',
    ]) {
      expect(markdown).toContain(name);
    }
    // The stored events were the same on both sides, so the table says nothing of a difference.
    expect(markdown).not.toContain('STORED EVENTS DIFFER');
  }, 180_000);
});
