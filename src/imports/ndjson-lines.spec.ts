import { LineBatch, ndjsonLineBatches } from './ndjson-lines';

async function collect(chunks: string[], options: Partial<Parameters<typeof ndjsonLineBatches>[1]> = {}): Promise<LineBatch[]> {
  async function* source() {
    for (const c of chunks) yield Buffer.from(c, 'utf8');
  }
  const batches: LineBatch[] = [];
  for await (const b of ndjsonLineBatches(source(), {
    startOffset: 0,
    startIndex: 0,
    maxLineBytes: 100,
    maxLines: 1000,
    maxBatchBytes: 1 << 20,
    ...options,
  })) {
    batches.push(b);
  }
  return batches;
}

describe('ndjsonLineBatches', () => {
  it('splits lines across chunk boundaries, counts every line (blank ones too, without yielding them) and ends at the text end', async () => {
    const [batch, ...rest] = await collect(['{"a":1}\n{"b"', ':2}\r\n\n{"c":3}']);
    expect(rest).toEqual([]);
    expect(batch.lines).toEqual([
      { index: 0, text: '{"a":1}' },
      { index: 1, text: '{"b":2}' },
      { index: 3, text: '{"c":3}' },
    ]);
    expect([batch.endOffset, batch.endIndex]).toEqual([25, 4]);
  });

  it('ends batches on line boundaries with the start position of the next batch', async () => {
    const batches = await collect(['a\nbb\nccc\ndddd\n'], { maxLines: 2 });
    expect(batches.map((b) => [b.lines.map((l) => l.text), b.endOffset, b.endIndex])).toEqual([
      [['a', 'bb'], 5, 2],
      [['ccc', 'dddd'], 14, 4],
    ]);
  });

  it('continues from a resumed position', async () => {
    const [batch] = await collect(['ccc\ndddd'], { startOffset: 5, startIndex: 2 });
    expect(batch.lines).toEqual([
      { index: 2, text: 'ccc' },
      { index: 3, text: 'dddd' },
    ]);
    expect([batch.endOffset, batch.endIndex]).toEqual([13, 4]);
  });

  it('yields a line over maxLineBytes as null without holding it (only its first 256 bytes, as head), and goes on', async () => {
    const [batch] = await collect(['x'.repeat(60), 'y'.repeat(60), '\nok\n'], { maxLineBytes: 100 });
    expect(batch.lines).toEqual([
      { index: 0, text: null, head: 'x'.repeat(60) + 'y'.repeat(60) },
      { index: 1, text: 'ok' },
    ]);
    expect(batch.endOffset).toBe(124);
    // A line that turns too long within one chunk, and one that does only at its end.
    const [long] = await collect(['[' + 'z'.repeat(1000) + '\n', 'a'.repeat(90), 'b'.repeat(20) + '\n'], { maxLineBytes: 100 });
    expect(long.lines).toEqual([
      { index: 0, text: null, head: '[' + 'z'.repeat(255) },
      { index: 1, text: null, head: 'a'.repeat(90) + 'b'.repeat(20) },
    ]);
  });

  it('skips a byte order mark at the start (counting its bytes), keeps multi-byte characters split across chunks', async () => {
    const euro = Buffer.from('€', 'utf8');
    async function* source() {
      yield Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"'), euro.subarray(0, 1)]);
      yield Buffer.concat([euro.subarray(1), Buffer.from('"\n')]);
    }
    const batches: LineBatch[] = [];
    for await (const b of ndjsonLineBatches(source(), {
      startOffset: 0,
      startIndex: 0,
      maxLineBytes: 100,
      maxLines: 10,
      maxBatchBytes: 1000,
    }))
      batches.push(b);
    expect(batches[0].lines).toEqual([{ index: 0, text: '"€"' }]);
    expect(batches[0].endOffset).toBe(9);
  });

  it('yields nothing for an empty object', async () => {
    expect(await collect([])).toEqual([]);
  });

  it('ends batches by bytes also on a run of blank lines, yielding no line for them', async () => {
    const batches = await collect(['\n'.repeat(10), ' \t\n', '{"a":1}'], { maxBatchBytes: 4 });
    expect(batches.map((b) => [b.lines, b.endOffset, b.endIndex])).toEqual([
      [[], 4, 4],
      [[], 8, 8],
      [[], 13, 11],
      [[{ index: 11, text: '{"a":1}' }], 20, 12],
    ]);
  });
});
