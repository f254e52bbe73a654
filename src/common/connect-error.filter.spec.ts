import { ArgumentsHost, BadRequestException, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { STATEMENT_TIMEOUT_MESSAGE } from './statement-timeout';
import { ConnectErrorFilter, INTERNAL_ERROR_MESSAGE } from './connect-error.filter';
import { currentRequestId } from './request-context';
import {
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
  TooManyResultsError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors';

function respond(exception: unknown): { status: number; body: unknown; headers?: Record<string, string> } {
  const sent: { status: number; body: unknown; headers?: Record<string, string> } = { status: 0, body: undefined };
  const response = {
    headersSent: false,
    setHeader(name: string, value: string) {
      sent.headers = { ...sent.headers, [name]: value };
    },
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ method: 'GET', path: '/x' }) }),
  } as unknown as ArgumentsHost;
  new ConnectErrorFilter().catch(exception, host);
  return sent;
}

describe('ConnectErrorFilter', () => {
  it.each([
    [
      ValidationError.of('query', 'The query JSON supplied is not valid.'),
      422,
      { errors: [{ field: 'query', description: 'The query JSON supplied is not valid.' }] },
    ],
    [new NotFoundError('No export'), 404, { errorMessage: 'No export' }],
    [new PayloadTooLargeError('Maximum event size of 64kb exceeded.'), 413, { errorMessage: 'Maximum event size of 64kb exceeded.' }],
    [new TooManyResultsError('too many'), 413, { errorMessage: 'too many' }],
    [new NotFoundException('Cannot GET /nope'), 404, { errorMessage: 'Not found.' }],
    [new BadRequestException('bad'), 400, { errorMessage: 'bad' }],
  ])('maps %p to Connect shapes', (exception, status, body) => {
    expect(respond(exception)).toEqual({ status, body });
  });

  it.each([
    [new TooManyRequestsError('Slow down.', 2.2), 429, '3'],
    [new ServiceUnavailableError('Busy.'), 503, '1'],
  ])('sends Retry-After with %p', (exception, status, retryAfter) => {
    expect(respond(exception)).toEqual({ status, body: { errorMessage: exception.message }, headers: { 'Retry-After': retryAfter } });
  });

  it('answers a statement PostgreSQL cancelled (57014), raw or wrapped by TypeORM, with 503, Retry-After and what to narrow', () => {
    const pgError = Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
    const typeormError = Object.assign(new Error('canceling statement due to statement timeout'), { driverError: pgError });
    for (const exception of [pgError, typeormError]) {
      expect(respond(exception)).toEqual({
        status: 503,
        body: { errorMessage: STATEMENT_TIMEOUT_MESSAGE },
        headers: { 'Retry-After': '5' },
      });
    }
    expect(STATEMENT_TIMEOUT_MESSAGE).toMatch(/narrow the timeframe or the filter, or group by fewer properties/);
  });

  it('answers 503 with Retry-After for a driver error saying PostgreSQL or Redis is unreachable', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      expect(respond(refused)).toEqual({
        status: 503,
        body: { errorMessage: 'The service cannot reach its database or queue right now; try again shortly.' },
        headers: { 'Retry-After': '5' },
      });
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('answers 415 without Retry-After', () => {
    expect(respond(new UnsupportedMediaTypeError('No gzip.'))).toEqual({ status: 415, body: { errorMessage: 'No gzip.' } });
  });

  it('hides the details of unexpected errors behind a 500 and logs them with a request id', () => {
    // The id is the line's `reqId` (the logger takes it from the request context), not part of the message.
    const ids: Array<string | undefined> = [];
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => void ids.push(currentRequestId()));
    try {
      expect(respond(new Error('relation "secret_table" does not exist'))).toEqual({
        status: 500,
        body: { errorMessage: INTERNAL_ERROR_MESSAGE },
      });
      expect(respond(new ServiceUnavailableException('internal detail'))).toEqual({
        status: 500,
        body: { errorMessage: INTERNAL_ERROR_MESSAGE },
      });
      expect(log).toHaveBeenCalledTimes(2);
      expect(log.mock.calls[0][0]).toMatch(/^GET \/x failed: Error: relation "secret_table" does not exist/);
      expect(ids).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    } finally {
      log.mockRestore();
    }
  });
});
