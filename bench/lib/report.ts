import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IngestResult } from '../b1-ingest';
import type { QueryBenchResult } from '../b2-query';
import type { SmallExportResult } from '../b3-small-export';
import type { S3ExportResult } from '../b4-s3-export';
import type { S3ImportResult } from '../b5-s3-import';

/** Everything one run of the harness measured: written to latest.json, rendered into latest.md and the console. */
export interface BenchResults {
  /** Bump when the shape changes. */
  schemaVersion: 1;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  command: string;
  git: { commit: string | null; dirty: boolean | null };
  machine: {
    cores: number;
    cpuModel: string;
    memoryBytes: number;
    kernel: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  versions: { node: string; postgres: string; redis: string };
  config: {
    events: number;
    seed: number;
    batchSize: number;
    concurrency: number;
    runs: number;
    warmup: number;
    benchmarks: string[];
    serviceNodeFlags: string[];
  };
  dataset: {
    events: number;
    collections: Record<string, number>;
    jsonBytes: number;
    averageEventBytes: number;
    windowStart: string;
    windowEnd: string;
  };
  /** null: not selected with --only. */
  b1: IngestResult | null;
  b2: QueryBenchResult | null;
  b3: SmallExportResult | null;
  b4: S3ExportResult | null;
  b5: S3ImportResult | null;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : int(n));
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const yes = (met: boolean): string => (met ? 'yes' : '**no**');

/** One row per measured figure: what, service, baseline, ratio, target, met. */
export function tableRows(r: BenchResults): string[][] {
  const rows: string[][] = [];
  if (r.b1) {
    rows.push([
      `B1 ingest: ${int(r.b1.events)} events, POST /events (${int(r.b1.batchSize)}/batch, ${r.b1.concurrency} in flight) vs COPY FROM STDIN`,
      `${int(r.b1.service.eventsPerSecond)} events/s`,
      `${int(r.b1.baseline.eventsPerSecond)} events/s`,
      r.b1.ratio.toFixed(3),
      `≥ ${r.b1.target.minRatio}`,
      yes(r.b1.met),
    ]);
  }
  if (r.b2) {
    if (!r.b2.available) {
      rows.push(['B2 query', `skipped: ${r.b2.skipped}`, '', '', '≤ 1.5', '']);
    } else {
      for (const q of r.b2.queries) {
        rows.push([
          `B2 ${q.title}, p50 / p95${q.answersMatch ? '' : ' (ANSWERS DIFFER)'}`,
          `${ms(q.service.p50Ms)} / ${ms(q.service.p95Ms)} ms`,
          `${ms(q.baseline.p50Ms)} / ${ms(q.baseline.p95Ms)} ms`,
          `${q.ratio.p50.toFixed(2)} / ${q.ratio.p95.toFixed(2)}`,
          `p50 ≤ ${r.b2.target.maxRatio}`,
          yes(q.met),
        ]);
      }
    }
  }
  if (r.b3) {
    rows.push([
      `B3 small export: ${int(r.b3.events)} events (${mib(r.b3.bodyBytes)}), p50 / p95${r.b3.answersMatch ? '' : ' (BODIES DIFFER)'}`,
      `${ms(r.b3.service.p50Ms)} / ${ms(r.b3.service.p95Ms)} ms`,
      `${ms(r.b3.baseline.p50Ms)} / ${ms(r.b3.baseline.p95Ms)} ms`,
      `${r.b3.ratio.p50.toFixed(2)} / ${r.b3.ratio.p95.toFixed(2)}`,
      `p50 ≤ ${r.b3.target.maxRatio}`,
      yes(r.b3.met),
    ]);
  }
  if (r.b4) {
    for (const p of r.b4.phases) {
      const identical = p.exports.every((e) => e.identical);
      rows.push([
        `B4 S3 export ${p.label}: ${int(p.events)} events (${mib(p.service.bytes)}, ${p.exports.length} exports), POST → Complete vs COPY TO → Upload${identical ? '' : ' (OBJECTS DIFFER)'}`,
        `${p.service.seconds.toFixed(2)} s`,
        `${p.baseline.seconds.toFixed(2)} s`,
        p.ratio.toFixed(2),
        p.label === 'N' ? `≤ ${r.b4.target.maxRatio}` : '',
        p.label === 'N' ? yes(r.b4.met.ratio) : '',
      ]);
    }
    const gzip = r.b4.gzip;
    if ('skipped' in gzip) {
      rows.push([
        'B4 S3 export N, gzip: POST with "compression": "gzip" vs COPY TO → gzip (level 6) → Upload',
        `skipped: ${gzip.skipped}`,
        '',
        '',
        '',
        '',
      ]);
    } else {
      const identical = gzip.exports.every((e) => e.identical);
      rows.push([
        `B4 S3 export N, gzip: ${int(gzip.events)} events (${mib(gzip.service.bytes)} → ${mib(gzip.service.objectBytes)} / ${mib(gzip.baseline.objectBytes)}), POST → Complete vs COPY TO → gzip → Upload${identical ? '' : ' (CONTENT DIFFERS)'}`,
        `${gzip.service.seconds.toFixed(2)} s`,
        `${gzip.baseline.seconds.toFixed(2)} s`,
        gzip.ratio.toFixed(2),
        '',
        '',
      ]);
    }
    const resume = r.b4.resume;
    if ('skipped' in resume)
      rows.push(['B4 S3 export resumed (worker killed half-way) vs uninterrupted', `skipped: ${resume.skipped}`, '', '', '', '']);
    else
      rows.push([
        `B4 S3 export resumed: ${resume.collection}, ${int(resume.events)} events (${mib(resume.bytes)}), worker killed at ${resume.percentAtKill.toFixed(1)} %, vs the same export uninterrupted${resume.identical ? '' : ' (OBJECTS DIFFER)'}`,
        `${resume.resumedSeconds.toFixed(2)} s`,
        `${resume.uninterruptedSeconds.toFixed(2)} s (uninterrupted)`,
        resume.ratio.toFixed(2),
        '',
        '',
      ]);
    const [tenth, full] = r.b4.phases;
    rows.push([
      `B4 export worker peak RSS, ${int(tenth.events)} → ${int(full.events)} events`,
      `${mib(r.b4.peakRss.atTenthBytes)} → ${mib(r.b4.peakRss.atFullBytes)}`,
      '',
      r.b4.peakRss.growth.toFixed(2),
      `≤ ${mib(r.b4.target.maxPeakRssBytes)}, growth ≤ ${r.b4.target.maxRssGrowth}`,
      `${yes(r.b4.met.peakRss)}, ${r.b4.met.flat ? 'flat' : '**grows**'}`,
    ]);
  }
  if (r.b5) {
    for (const p of r.b5.phases) {
      rows.push([
        `B5 S3 import ${p.label}: ${int(p.events)} events (${mib(p.objectBytes)} NDJSON, ids included), POST /event-import → Complete vs GetObject → COPY FROM STDIN` +
          (p.identical ? '' : ' (STORED EVENTS DIFFER)'),
        `${int(p.service.eventsPerSecond)} events/s`,
        `${int(p.baseline.eventsPerSecond)} events/s`,
        p.ratio.toFixed(3),
        p.label === 'N' ? `≥ ${r.b5.target.minRatio}` : '',
        p.label === 'N' ? yes(r.b5.met.ratio) : '',
      ]);
    }
    const [tenth, full] = r.b5.phases;
    rows.push([
      `B5 import worker peak RSS, ${int(tenth.events)} → ${int(full.events)} events`,
      `${mib(r.b5.peakRss.atTenthBytes)} → ${mib(r.b5.peakRss.atFullBytes)}`,
      '',
      r.b5.peakRss.growth.toFixed(2),
      `≤ ${mib(r.b5.target.maxPeakRssBytes)}, growth ≤ ${r.b5.target.maxRssGrowth}`,
      `${yes(r.b5.met.peakRss)}, ${r.b5.met.flat ? 'flat' : '**grows**'}`,
    ]);
  }
  return rows;
}

const HEADER = ['benchmark', 'service', 'baseline (physical limit)', 'ratio', 'target', 'met'];

export function markdownTable(r: BenchResults): string {
  const rows = tableRows(r);
  return [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** The table for a terminal: aligned columns, no markdown. */
export function consoleTable(r: BenchResults): string {
  const rows = [HEADER, ...tableRows(r).map((row) => row.map((cell) => cell.replace(/\*\*/g, '')))];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The run's circumstances, as a markdown list. */
function circumstances(r: BenchResults): string {
  const m = r.machine;
  return [
    `- Command: \`${r.command}\``,
    `- When: ${r.startedAt} (took ${Math.round(r.durationSeconds)} s)${r.git.commit ? `, commit ${r.git.commit}${r.git.dirty ? ' with uncommitted changes' : ''}` : ''}`,
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB memory, Linux ${m.kernel}; load average ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${m.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')} at the end`,
    `- Versions: Node ${r.versions.node}, PostgreSQL ${r.versions.postgres}, Redis ${r.versions.redis}`,
    `- Data: ${int(r.dataset.events)} events (seed ${r.config.seed}), ${int(r.dataset.averageEventBytes)} bytes of JSON each on average, ` +
      `${Object.entries(r.dataset.collections)
        .map(([c, n]) => `${c} ${int(n)}`)
        .join(', ')}; ${r.dataset.windowStart.slice(0, 10)} to ${r.dataset.windowEnd.slice(0, 10)} (90 days)`,
    `- Service: \`node ${r.config.serviceNodeFlags.length > 0 ? `${r.config.serviceNodeFlags.join(' ')} ` : ''}dist/src/main.js\` as two processes, ROLE=api (HTTP) and ROLE=worker (exports and imports), on a database of its own`,
  ].join('\n');
}

export function markdownReport(r: BenchResults): string {
  const notes: string[] = [
    'Ratios: B1 and B5 are service ÷ baseline events/s (higher is better); B2–B4 are service ÷ baseline time (lower is better).',
    'Each figure is measured side by side with its baseline, alternating which goes first, so noise from other work on the machine lands on both.',
  ];
  if (r.b2 && r.b2.available && r.b2.queries.some((q) => !q.answersMatch))
    notes.push('**Some B2 answers differ between the service and the SQL.**');
  const resume = r.b4?.resume;
  if (r.b4) {
    notes.push(
      "B4 objects are compared by size and SHA-256 of their NDJSON, read back from S3 (decompressed for gzip): the service cuts parts on line ends, so its multipart ETag on S3 differs from lib-storage's for the same bytes.",
    );
    if (resume && !('skipped' in resume))
      notes.push(
        `B4 resumed: POST → Complete with the worker killed (SIGKILL) at the percentDone shown and a new one started (up in ${resume.workerRestartSeconds.toFixed(1)} s; ` +
          `${resume.acknowledgedPartsAtResume ?? 'no'} parts acknowledged when it resumed), both exports on workers with ${Object.entries(
            resume.workerEnv,
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}.`,
      );
  }
  if (r.b5) {
    notes.push(
      `B5: the service's time is POST /event-import → the monitor's \`finished\`; the baseline's is GetObject → the last COPY committed (${r.b5.baselineMethod}). ` +
        "Both sides' rows are counted and checksummed, then deleted before the other side runs.",
    );
  }
  return [
    '# Benchmark results',
    '',
    circumstances(r),
    '',
    markdownTable(r),
    '',
    ...notes.map((n) => `${n}  `),
    '',
    'Produced by `bench/` (see bench/README.md); the same figures, with every sample, are in latest.json.',
    '',
  ].join('\n');
}

/** Writes `latest.json` and `latest.md` into `outDir`. @returns their paths. */
export function writeResults(outDir: string, r: BenchResults): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'latest.json');
  const md = path.join(outDir, 'latest.md');
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, markdownReport(r));
  return { json, md };
}
