import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { lastEventId, ndjsonBlocks, ndjsonParts, Part, RawBlock } from './ndjson-parts';

/** NDJSON lines shaped like exported events, of varying lengths (seeded, so every run is the same). */
function lines(count: number): string {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let text = '';
  for (let i = 0; i < count; i++) {
    text += `{"id": "e${i}", "timestamp": "2026-11-01T00:00:00.000Z", "pad": "${'x'.repeat(Math.floor(random() * 3000))}"}\n`;
  }
  return text;
}

async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

/** A block's bytes in one Buffer. */
const bytesOf = (block: RawBlock): Buffer => Buffer.concat(block.chunks, block.length);

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('ndjsonBlocks', () => {
  const text = Buffer.from(lines(2000), 'utf8');

  it('cuts at the first line end at or after the block size, whatever the chunking', async () => {
    const reference = await collect(ndjsonBlocks(chunked(text, [text.length]), 100_000));
    expect(reference.length).toBeGreaterThan(10);
    for (const block of reference.slice(0, -1)) {
      const bytes = bytesOf(block);
      expect(bytes.length).toBe(block.length);
      expect(bytes.length).toBeGreaterThanOrEqual(100_000);
      expect(bytes.at(-1)).toBe(0x0a);
      // The line end before the last one is below the block size: it is the first one at or past it.
      expect(bytes.lastIndexOf(0x0a, bytes.length - 2)).toBeLessThan(100_000 - 1);
    }
    expect(Buffer.concat(reference.map(bytesOf)).equals(text)).toBe(true);
    expect(reference.reduce((n, b) => n + b.lines, 0)).toBe(2000);
    for (const sizes of [[11], [7, 13, 64 * 1024], [99_999], [100_001, 3]]) {
      const blocks = await collect(ndjsonBlocks(chunked(text, sizes), 100_000));
      expect(blocks.map((b: RawBlock) => bytesOf(b).toString('hex'))).toEqual(reference.map((b) => bytesOf(b).toString('hex')));
    }
  });

  it('refuses a stream that ends inside a line', async () => {
    await expect(collect(ndjsonBlocks(chunked(Buffer.from('{"id": 1}\n{"id"'), [100]), 4))).rejects.toThrow(/middle of a line/);
  });
});

describe('ndjsonParts', () => {
  const text = Buffer.from(lines(3000), 'utf8');
  const parts = (gzip: boolean, sizes = [65_536]) =>
    collect(ndjsonParts(ndjsonBlocks(chunked(text, sizes), 50_000), { firstPartNumber: 1, partSizeBytes: 400_000, gzip }));

  it('groups blocks into numbered parts of at least the part size, each with its MD5 and last event id', async () => {
    const made = await parts(false);
    expect(made.length).toBeGreaterThan(3);
    made.forEach((part: Part, i) => {
      expect(part.partNumber).toBe(i + 1);
      if (i < made.length - 1) expect(part.body.length).toBeGreaterThanOrEqual(400_000);
      expect(part.md5).toBe(createHash('md5').update(part.body).digest('base64'));
      expect(part.endEventId).toBe(JSON.stringify(JSON.parse(part.body.toString().trimEnd().split('\n').at(-1)!).id));
      expect(part.rawBytes).toBe(part.body.length);
    });
    expect(Buffer.concat(made.map((p) => p.body)).equals(text)).toBe(true);
    expect(made.reduce((n, p) => n + p.events, 0)).toBe(3000);
  });

  it('with gzip, writes gzip members whose concatenation decompresses to the NDJSON, the same bytes whatever the chunking', async () => {
    const made = await parts(true);
    const again = await parts(true, [1000, 17]);
    expect(again.map((p) => p.md5)).toEqual(made.map((p) => p.md5));
    const object = Buffer.concat(made.map((p) => p.body));
    expect(gunzipSync(object).equals(text)).toBe(true);
    expect(object.length).toBeLessThan(text.length / 5);
    expect(made.reduce((n, p) => n + p.rawBytes, 0)).toBe(text.length);
  });

  it('resumes: parts cut from the start of part 3 are the parts 3.. of an uninterrupted run', async () => {
    const made = await parts(false);
    const offset = made[0].body.length + made[1].body.length;
    const rest = await collect(
      ndjsonParts(ndjsonBlocks(chunked(text.subarray(offset), [4096]), 50_000), {
        firstPartNumber: 3,
        partSizeBytes: 400_000,
        gzip: false,
      }),
    );
    expect(rest.map((p) => [p.partNumber, p.md5])).toEqual(made.slice(2).map((p) => [p.partNumber, p.md5]));
  });
});

describe('lastEventId', () => {
  it('takes the id text of the last line, also ids holding quotes and commas, and numeric ids', () => {
    expect(
      lastEventId(Buffer.from('{"id": "a", "timestamp": "t"}\n{"id": "x\\", \\"timestamp\\": \\"", "timestamp": "t", "k": 1}\n')),
    ).toBe('"x\\", \\"timestamp\\": \\""');
    expect(lastEventId(Buffer.from('{"id": 12345678901234567890, "timestamp": "t"}\n'))).toBe('12345678901234567890');
    expect(lastEventId(Buffer.from('{"id": "é", "timestamp": "t"}\n'))).toBe('"é"');
    expect(() => lastEventId(Buffer.from('{"x": 1}\n'))).toThrow(/does not start with its id/);
  });
});
