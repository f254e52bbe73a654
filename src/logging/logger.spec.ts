import { S3ServiceException } from '@aws-sdk/client-s3';
import { withRequestId } from '../common';
import { createLogger, errorCodeOf, pinoLevelOf, textLine } from './logger';

/** A logger writing to an array, one entry per line. */
function capture(format: 'json' | 'pretty') {
  const lines: string[] = [];
  const logger = createLogger(format, 'info', { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes level names, ISO time, reqId inside a request, and redacts keys and credentials', () => {
    const { logger, lines } = capture('json');
    withRequestId('req-1', () =>
      logger.info({ headers: { 'x-api-key': 'k-123', 'x-admin-token': 't-456' }, s3SecretAccessKey: 's-789', body: { a: 1 } }, 'hello'),
    );
    logger.info('outside');
    const [inside, outside] = lines.map((line) => JSON.parse(line));
    expect(inside).toEqual(
      expect.objectContaining({
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        reqId: 'req-1',
        msg: 'hello',
        headers: { 'x-api-key': '[Redacted]', 'x-admin-token': '[Redacted]' },
        s3SecretAccessKey: '[Redacted]',
        body: '[Redacted]',
      }),
    );
    expect(outside.reqId).toBeUndefined();
    expect(lines.join('')).not.toMatch(/k-123|t-456|s-789/);
  });
});

describe('textLine', () => {
  const line = JSON.stringify({
    level: 'warn',
    time: '2026-01-02T03:04:05.678Z',
    pid: 1,
    hostname: 'h',
    context: 'ExportRunner',
    reqId: 'r-1',
    exportId: 'e',
    msg: 'first\n    at stack',
  });

  it('is plain text without colours: time, level, context, request id, message, fields, then the rest of the message', () => {
    expect(textLine(line, false)).toBe('2026-01-02T03:04:05.678Z WARN  [ExportRunner] request r-1 first {"exportId":"e"}\n    at stack\n');
    expect(textLine(line, false)).not.toContain('\x1b[');
  });

  it('colours the level only when asked (stdout is a terminal)', () => {
    expect(textLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
  });
});

describe('pinoLevelOf', () => {
  it('maps the most detailed of Nest levels to pino', () => {
    expect(pinoLevelOf(['error'])).toBe('error');
    expect(pinoLevelOf(['error', 'warn', 'log'])).toBe('info');
    expect(pinoLevelOf(['verbose', 'error'])).toBe('trace');
    expect(pinoLevelOf(false)).toBe('silent');
  });
});

describe('errorCodeOf', () => {
  it("names S3's code, a socket error or the error's class", () => {
    const s3 = new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: {}, message: 'slow' });
    expect(errorCodeOf(s3)).toBe('SlowDown');
    expect(errorCodeOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(errorCodeOf(new Error('Hostname ENOTFOUND x'))).toBe('ENOTFOUND');
    expect(errorCodeOf(new TypeError('x'))).toBe('TypeError');
  });
});
