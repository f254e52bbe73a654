import { QueryFailedError } from 'typeorm';
import { isDependencyUnavailable, withTimeout } from './dependency-errors';

function pgError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

describe('isDependencyUnavailable', () => {
  it.each([
    ['connection refused', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['connection reset', pgError('ECONNRESET')],
    ['admin shutdown (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['cannot connect now (57P03)', pgError('57P03', 'the database system is starting up')],
    ['crash shutdown (57P02)', pgError('57P02')],
    ['too many connections (53300)', pgError('53300')],
    ['connection failure (08006)', pgError('08006')],
    ['pg: terminated', new Error('Connection terminated unexpectedly')],
    ['pg: connect timeout', new Error('Connection terminated due to connection timeout')],
    ['pg-pool: wait timeout', new Error('timeout exceeded when trying to connect')],
    ['ioredis: closed', new Error('Connection is closed.')],
    ['TypeORM-wrapped', new QueryFailedError('SELECT 1', [], pgError('57P01'))],
    ['AggregateError of refusals', new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')], 'connect failed')],
    ['a cause', new Error('outer', { cause: pgError('ETIMEDOUT') })],
  ])('recognises %s', (_, error) => {
    expect(isDependencyUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', new QueryFailedError('INSERT', [], pgError('23505'))],
    ['a syntax error', pgError('42601')],
    ['a statement timeout (57014: the query, not the server)', pgError('57014')],
    ['a plain error', new Error('relation "x" does not exist')],
    ['not an error', 'ECONNREFUSED'],
    ['null', null],
  ])('does not take %s for an outage', (_, error) => {
    expect(isDependencyUnavailable(error)).toBe(false);
  });
});

describe('withTimeout', () => {
  it('rejects with the given error once the time has passed, and passes results through', async () => {
    await expect(withTimeout(new Promise(() => undefined), 20, () => new Error('late'))).rejects.toThrow('late');
    await expect(withTimeout(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('own')), 1000, () => new Error('late'))).rejects.toThrow('own');
  });
});
