/**
 * How an S3 export's NDJSON is cut into multipart-upload parts (docs/exports.md, "Parts and resuming").
 *
 * The cut depends only on the bytes, never on how they arrived: a block ends at the first line
 * end at or after BLOCK_BYTES, and a part ends after the first block that brings it to the part
 * size. So an export resumed after its last acknowledged part cuts the rest exactly where an
 * uninterrupted one would, and the object is byte-identical. With gzip, each block becomes one
 * gzip member of its own (RFC 1952 allows members one after another; gzip, zcat, Python, Java's
 * GZIPInputStream, Athena and Spark read them as one stream), so a part can be compressed without
 * the state of the parts before it, and blocks compress in parallel on libuv's thread pool.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** Uncompressed bytes of a block, at least (it ends at the next line end). */
export const BLOCK_BYTES = 1024 * 1024;
/** gzip level of compressed exports (zlib's default speed/size trade-off). */
export const GZIP_LEVEL = 6;
/** Blocks compressed at once (libuv's thread pool has 4 threads by default). */
const GZIP_CONCURRENCY = 4;

const NEWLINE = 0x0a;
const gzip = promisify(zlib.gzip);

/**
 * Uncompressed NDJSON lines ending with '\n', as the pieces they arrived in: they are copied once,
 * into the part (or into the input of its gzip member), not first into a block of their own.
 */
export interface RawBlock {
  chunks: Buffer[];
  /** Bytes of all the chunks together. */
  length: number;
  lines: number;
}

/** One part, ready to upload. */
export interface Part {
  partNumber: number;
  /** The part's bytes as uploaded (compressed with gzip). */
  body: Buffer;
  /** Uncompressed NDJSON bytes the part holds. */
  rawBytes: number;
  /** Events (lines) in the part. */
  events: number;
  /** The `id` of the part's last event, as the JSON text the line holds (the resume position). */
  endEventId: string;
  /** Base64 MD5 of `body` (the `Content-MD5` header S3 checks). */
  md5: string;
}

function countLines(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) lines++;
  return lines;
}

/**
 * Cuts a byte stream of complete NDJSON lines into blocks of at least `blockBytes` ending on a line
 * end (the last block may be shorter). Chunk boundaries do not matter.
 */
export async function* ndjsonBlocks(source: AsyncIterable<Buffer>, blockBytes = BLOCK_BYTES): AsyncGenerator<RawBlock> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let lines = 0;
  for await (let chunk of source) {
    while (chunk.length > 0) {
      const end = heldBytes + chunk.length >= blockBytes ? chunk.indexOf(NEWLINE, Math.max(0, blockBytes - 1 - heldBytes)) : -1;
      const piece = end === -1 ? chunk : chunk.subarray(0, end + 1);
      held.push(piece);
      heldBytes += piece.length;
      lines += countLines(piece);
      if (end === -1) break;
      yield { chunks: held, length: heldBytes, lines };
      held = [];
      heldBytes = lines = 0;
      chunk = chunk.subarray(end + 1);
    }
  }
  if (heldBytes > 0) {
    const tail = held[held.length - 1];
    if (tail[tail.length - 1] !== NEWLINE) {
      throw new Error('the event stream ended in the middle of a line');
    }
    yield { chunks: held, length: heldBytes, lines };
  }
}

const joined = (pieces: Buffer[], length: number): Buffer => (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, length));

/** Applies `transform` to each item, up to `concurrency` at once, yielding results in order. */
async function* orderedMap<T, R>(source: AsyncIterable<T>, transform: (item: T) => Promise<R>, concurrency: number): AsyncGenerator<R> {
  const pending: Array<Promise<R>> = [];
  try {
    for await (const item of source) {
      const next = transform(item);
      next.catch(() => undefined); // awaited below, in order; this only keeps an early failure from being "unhandled"
      pending.push(next);
      if (pending.length >= concurrency) yield await pending.shift()!;
    }
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    pending.length = 0;
  }
}

/** The JSON text of the `id` of the last line of `bytes` (a line starts `{"id": <id>, "timestamp": "`). */
export function lastEventId(bytes: Buffer): string {
  const start = bytes.lastIndexOf(NEWLINE, bytes.length - 2) + 1;
  const idStart = start + '{"id": '.length;
  // A string id cannot hold this sequence unescaped, and nothing else comes between id and timestamp.
  const idEnd = bytes.indexOf(', "timestamp": "', idStart);
  if (bytes.toString('latin1', start, idStart) !== '{"id": ' || idEnd === -1) {
    throw new Error('an exported line does not start with its id');
  }
  return bytes.toString('utf8', idStart, idEnd);
}

/** Options of `ndjsonParts`. */
export interface PartOptions {
  /** Number of the first part made. */
  firstPartNumber: number;
  /** A part ends after the first block that brings it to this many bytes (as uploaded). */
  partSizeBytes: number;
  gzip: boolean;
}

/**
 * Groups blocks into parts of at least `partSizeBytes` (as uploaded; the last may be smaller),
 * numbered from `firstPartNumber`, each with its MD5 and resume position.
 */
export async function* ndjsonParts(blocks: AsyncIterable<RawBlock>, options: PartOptions): AsyncGenerator<Part> {
  // gzip: one member per block, and the block's own bytes for its last event id. Plain: the part's
  // body is the blocks' chunks copied once, and its last event id is read from it.
  const encoded = options.gzip
    ? orderedMap(
        blocks,
        async (block) => {
          const raw = joined(block.chunks, block.length);
          return { block, pieces: [await gzip(raw, { level: GZIP_LEVEL })], raw };
        },
        GZIP_CONCURRENCY,
      )
    : (async function* () {
        for await (const block of blocks) yield { block, pieces: block.chunks, raw: null };
      })();
  let partNumber = options.firstPartNumber;
  let pieces: Buffer[] = [];
  let bytes = 0;
  let rawBytes = 0;
  let events = 0;
  let last: Buffer | null = null;
  const seal = (): Part => {
    const body = joined(pieces, bytes);
    const part: Part = {
      partNumber: partNumber++,
      body,
      rawBytes,
      events,
      endEventId: lastEventId(last ?? body),
      md5: createHash('md5').update(body).digest('base64'),
    };
    pieces = [];
    bytes = rawBytes = events = 0;
    last = null;
    return part;
  };
  for await (const { block, pieces: encodedPieces, raw } of encoded) {
    for (const piece of encodedPieces) {
      pieces.push(piece);
      bytes += piece.length;
    }
    rawBytes += block.length;
    events += block.lines;
    last = raw;
    if (bytes >= options.partSizeBytes) yield seal();
  }
  if (pieces.length > 0) yield seal();
}
