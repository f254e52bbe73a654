import { Readable } from 'node:stream';

/** Bytes a response stream buffers ahead of the socket; small, so what it emits follows what the client reads. */
const STREAM_HIGH_WATER_MARK = 16 * 1024;

/** Why a stream was ended: its client read more slowly than the configured minimum. */
export class SlowClientError extends Error {
  constructor(
    readonly bytesInWindow: number,
    readonly windowMs: number,
  ) {
    super(`client read ${bytesInWindow} bytes in ${windowMs} ms, below the minimum transfer rate; dropped`);
    this.name = 'SlowClientError';
  }
}

/**
 * A byte stream of `chunks` that destroys itself with SlowClientError when its consumer takes
 * fewer than `minBytesPerSecond × windowMs / 1000` bytes in a window of `windowMs`. Windows follow
 * each other from the moment the stream is created, so the first one is the grace period (socket
 * buffers fill in it) and a client that slows down later is dropped within two windows.
 *
 * What is measured is what the response has taken from this stream: with a 16 KB buffer here and the
 * kernel's socket buffer behind it, that follows the client's own reading once those buffers are
 * full. `minBytesPerSecond = 0` turns the check off. Destroying the stream makes the HTTP layer
 * destroy the response and its socket, and fires 'close', where the caller releases its resources.
 */
export function minRateReadable(chunks: AsyncIterable<string>, minBytesPerSecond: number, windowMs: number): Readable {
  const iterator = chunks[Symbol.asyncIterator]();
  let taken = 0;
  let reading = false;
  const stream = new Readable({
    highWaterMark: STREAM_HIGH_WATER_MARK,
    read() {
      if (reading) return;
      reading = true;
      void (async () => {
        try {
          for (;;) {
            const next = await iterator.next();
            if (stream.destroyed) return;
            if (next.done) {
              stream.push(null);
              return;
            }
            const buffer = Buffer.from(next.value, 'utf8');
            taken += buffer.length;
            if (!stream.push(buffer)) return;
          }
        } catch (error) {
          stream.destroy(error as Error);
        } finally {
          reading = false;
        }
      })();
    },
    // Not awaiting the iterator: it may be waiting on the database cursor, which the caller closes
    // on 'close' — which must therefore come first.
    destroy(error, done) {
      void iterator.return?.()?.catch(() => undefined);
      done(error);
    },
  });
  if (minBytesPerSecond > 0) {
    const required = (minBytesPerSecond * windowMs) / 1000;
    let atWindowStart = 0;
    const timer = setInterval(() => {
      const inWindow = taken - atWindowStart;
      atWindowStart = taken;
      if (inWindow < required) {
        stream.destroy(new SlowClientError(inWindow, windowMs));
      }
    }, windowMs);
    timer.unref();
    stream.once('close', () => clearInterval(timer));
  }
  return stream;
}
