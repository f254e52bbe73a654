import { Client, type PoolClient } from 'pg';
import type { Readable } from 'node:stream';
import { EventReadSession } from '../src/exports/event-reader';
import type { ExportsRepository, ExportScope, ReadRange } from '../src/exports/exports.repository';

/**
 * The read timeout of an S3 export's COPY (EXPORT_STATEMENT_TIMEOUT_MS + 2 s, armed by pg as the
 * query's `query_timeout`) on the real PostgreSQL. Regression: pg-copy-streams' COPY TO never told
 * pg it had ended, so every COPY left its timer armed for ten minutes (the default) after it ended;
 * that timer kept the process alive (jest lingered ten minutes after the last S3 export test) and
 * then fired the timeout error into the long-finished stream.
 */
describe('S3 export reads: COPY under its read timeout (EventReadSession.copyLines)', () => {
  const READ_TIMEOUT_MS = 300;
  const scope = {} as ExportScope;
  const range = {} as ReadRange;
  let client: Client;

  /** A session whose COPY selects `select` (the real copyLines, with the lines statement swapped). */
  const session = (select: string) => {
    const statements = { linesStatement: () => ({ text: select, values: [] }) } as unknown as ExportsRepository;
    return new EventReadSession(client as unknown as PoolClient, statements, () => undefined, READ_TIMEOUT_MS);
  };
  /** The stream's text, and every error it emits (also after it ended). */
  const read = (stream: Readable) => {
    const errors: Error[] = [];
    stream.on('error', (error) => errors.push(error));
    const text = (async () => {
      let out = '';
      for await (const chunk of stream) out += String(chunk);
      return out;
    })();
    return { text, errors };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeEach(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
  });
  afterEach(async () => {
    await client.end().catch(() => undefined);
  });

  it('disarms the timer once the COPY has ended: it never fires into the ended stream (nor keeps the process alive)', async () => {
    const { text, errors } = read(session(`SELECT n::text FROM generate_series(1, 3) n`).copyLines(scope, range));
    await expect(text).resolves.toBe('1\n2\n3\n');
    // An armed timer would fire its 'Query read timeout' into the ended stream after READ_TIMEOUT_MS.
    await sleep(READ_TIMEOUT_MS * 2);
    expect(errors).toEqual([]);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('disarms it when the COPY fails in PostgreSQL too', async () => {
    const { text, errors } = read(session(`SELECT (1 / (n - 2))::text FROM generate_series(1, 3) n`).copyLines(scope, range));
    await expect(text).rejects.toThrow('division by zero');
    expect(errors[0]?.message).toBe('division by zero');
    await sleep(READ_TIMEOUT_MS * 2);
    expect(errors.map((e) => e.message)).not.toContain('Query read timeout');
  });

  it('still bounds the whole COPY: one PostgreSQL does not finish in time fails with the read timeout', async () => {
    const sleepMs = READ_TIMEOUT_MS * 10;
    const reads = session(`SELECT pg_sleep(${sleepMs / 1000})::text`);
    const started = Date.now();
    const { text, errors } = read(reads.copyLines(scope, range));
    await expect(text).rejects.toThrow('Query read timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 5);
    expect(Date.now() - started).toBeLessThan(sleepMs); // not the end of the statement
    expect(errors[0]?.message).toBe('Query read timeout');
    reads.destroy(); // as ExportRunner does after a failed attempt: the connection is dropped
  });
});
