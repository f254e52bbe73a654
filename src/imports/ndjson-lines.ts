/** One line of an NDJSON object: its index (0 = the object's first line) and its text, or null when too long. */
export interface NdjsonLine {
  index: number;
  /** The line without its '\n' (and without a '\r' before it); null when it is longer than the limit. */
  text: string | null;
  /** Only for a line longer than the limit: its first LONG_LINE_HEAD_BYTES bytes as text, so the caller can tell what it holds. */
  head?: string;
}

/** How many first bytes of a too-long line are kept (NdjsonLine.head): enough to see how it starts. */
export const LONG_LINE_HEAD_BYTES = 256;

/** Whether bytes [0, end) of `line` are only spaces and tabs (or nothing). */
function isBlank(line: Buffer, end: number): boolean {
  for (let i = 0; i < end; i++) {
    if (line[i] !== 0x20 && line[i] !== 0x09) return false;
  }
  return true;
}

/** A copy of the first `count` bytes of `parts` joined. */
function firstBytes(parts: Buffer[], count: number): Buffer {
  const out: Buffer[] = [];
  let left = count;
  for (const part of parts) {
    if (left <= 0) break;
    out.push(part.subarray(0, left));
    left -= Math.min(left, part.length);
  }
  return Buffer.from(Buffer.concat(out));
}

/** Consecutive lines of an NDJSON object, ending on a line boundary. */
export interface LineBatch {
  /** The batch's lines that hold something: blank lines (empty, or only spaces and tabs) are counted in indexes but left out. */
  lines: NdjsonLine[];
  /** Byte offset (in the NDJSON text) just after the batch's last line: where the next batch starts. */
  endOffset: number;
  /** Index of the line after the batch's last one. */
  endIndex: number;
}

export interface LineBatchOptions {
  /** Byte offset of `source`'s first byte in the NDJSON text (a resumed import's position). */
  startOffset: number;
  /** Index of the line `source` starts with. */
  startIndex: number;
  /** Longest line kept, bytes; a longer one is skipped (its bytes are never held) and yielded with `text: null`. */
  maxLineBytes: number;
  /** Most (non-blank) lines per batch. */
  maxLines: number;
  /** Batches end once they span this many bytes of text, blank lines included (at the end of the line that passes it). */
  maxBatchBytes: number;
}

/**
 * Splits NDJSON text into batches of whole lines, with each batch's end position, so an import can
 * commit a batch together with where the next one starts (docs/imports.md, "Resuming"). Memory
 * holds at most one batch and one line of at most `maxLineBytes`, whatever the lines' size. Lines
 * end at '\n' ('\r\n' too); the last line needs no '\n'. A UTF-8 byte order mark at offset 0 is
 * skipped. Blank lines are counted but not yielded, and a run of them still ends batches (by bytes),
 * so a file of newlines commits its progress without holding its lines. Text is decoded as UTF-8
 * (invalid bytes become U+FFFD).
 */
export async function* ndjsonLineBatches(source: AsyncIterable<Buffer>, options: LineBatchOptions): AsyncGenerator<LineBatch> {
  let offset = options.startOffset;
  let index = options.startIndex;
  /** Pieces of the current line seen so far (empty once it is known to be too long). */
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let tooLong = false;
  /** The first bytes of the current line, once it is known to be too long. */
  let head: Buffer | null = null;
  let atStart = options.startOffset === 0;
  let lines: NdjsonLine[] = [];
  /** Where the current batch started. */
  let batchStart = options.startOffset;

  const endLine = (tail: Buffer): void => {
    if (!tooLong && pieceBytes + tail.length <= options.maxLineBytes) {
      const whole = pieces.length === 0 ? tail : Buffer.concat([...pieces, tail]);
      const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
      if (!isBlank(whole, end)) lines.push({ index, text: whole.toString('utf8', 0, end) });
    } else {
      lines.push({ index, text: null, head: (head ?? firstBytes([...pieces, tail], LONG_LINE_HEAD_BYTES)).toString('utf8') });
    }
    index += 1;
    pieces = [];
    pieceBytes = 0;
    tooLong = false;
    head = null;
  };
  const take = (): LineBatch => {
    const batch = { lines, endOffset: offset, endIndex: index };
    lines = [];
    batchStart = offset;
    return batch;
  };

  for await (const raw of source) {
    let chunk = raw;
    if (atStart && chunk.length > 0) {
      atStart = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3);
        offset += 3;
      }
    }
    let position = 0;
    while (position < chunk.length) {
      const newline = chunk.indexOf(0x0a, position);
      if (newline === -1) {
        const rest = chunk.subarray(position);
        if (!tooLong && pieceBytes + rest.length <= options.maxLineBytes) {
          pieces.push(rest);
        } else {
          if (!tooLong) head = firstBytes([...pieces, rest], LONG_LINE_HEAD_BYTES);
          tooLong = true;
          pieces = [];
        }
        pieceBytes += rest.length;
        offset += rest.length;
        break;
      }
      endLine(chunk.subarray(position, newline));
      offset += newline + 1 - position;
      position = newline + 1;
      if (lines.length >= options.maxLines || offset - batchStart >= options.maxBatchBytes) {
        yield take();
      }
    }
  }
  if (pieceBytes > 0 || tooLong) {
    endLine(Buffer.alloc(0));
  }
  if (lines.length > 0 || offset > batchStart) {
    yield take();
  }
}
