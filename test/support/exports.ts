import type TestAgent from 'supertest/lib/agent';

/** The monitor document (Connect docs, "Exporting events": "Monitoring the export"). */
export interface ExportStatus {
  filename: string;
  collection: string;
  status: 'Pending' | 'Running' | 'Complete' | 'Failed';
  created: string;
  started: string | null;
  finished: string | null;
  error: string | null;
  percentDone: number;
  transferredBytes: number;
  totalBytes: number;
}

/**
 * Polls a monitor URL until the export is Complete or Failed, checking on every reading the
 * invariants users rely on: percentDone within 0–100 and never going backwards, transferredBytes
 * never above a known totalBytes. Returns the final document and every reading.
 */
export async function waitForExport(
  http: TestAgent,
  monitorPath: string,
  headers: Record<string, string>,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<{ final: ExportStatus; readings: ExportStatus[] }> {
  const readings: ExportStatus[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await http.get(monitorPath).set(headers);
    if (res.status !== 200) {
      throw new Error(`monitor answered ${res.status}: ${res.text}`);
    }
    const doc = res.body as ExportStatus;
    const previous = readings.at(-1);
    if (doc.percentDone < 0 || doc.percentDone > 100) {
      throw new Error(`percentDone out of range: ${JSON.stringify(doc)}`);
    }
    if (previous && doc.percentDone < previous.percentDone) {
      throw new Error(`percentDone went backwards: ${previous.percentDone} -> ${doc.percentDone}`);
    }
    if (doc.totalBytes > 0 && doc.transferredBytes > doc.totalBytes) {
      throw new Error(`transferredBytes above totalBytes: ${JSON.stringify(doc)}`);
    }
    readings.push(doc);
    if (doc.status === 'Complete' || doc.status === 'Failed') {
      return { final: doc, readings };
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`export did not finish within ${timeoutMs} ms: ${JSON.stringify(readings.at(-1))}`);
}

/** The path part of a Location header. */
export function pathOf(location: string): string {
  return new URL(location).pathname;
}

/** Polls `probe` every 10–20 ms until it returns something truthy, for up to `timeoutMs`; returns it. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
