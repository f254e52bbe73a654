import { Client } from 'pg';

/** The message of the error pg gives a query that outlived `query_timeout`. */
export const QUERY_READ_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * The pg client of the API's pool (`Client` option of pg.Pool). pg's `query_timeout` fails a
 * query whose answer does not arrive in time (PostgreSQL frozen, or the network dropping its bytes
 * while the connection stays open, where `statement_timeout` inside PostgreSQL can do nothing),
 * but leaves the connection in the pool with that query still pending, so every later query on it
 * hangs too and the pool ends up full of dead connections. This client closes its connection on
 * such a timeout, so the pool drops it and opens a fresh one once PostgreSQL answers again.
 */
export class ClosingOnTimeoutClient extends Client {
  // pg's query() has many overloads; this only watches the promise form TypeORM uses.
  override query(...args: unknown[]): never {
    const result = (Client.prototype.query as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if ((error as Error | undefined)?.message === QUERY_READ_TIMEOUT_MESSAGE) {
          (this as unknown as { connection: { stream: { destroy(error: Error): void } } }).connection.stream.destroy(
            new Error('Connection terminated: a query got no answer within query_timeout'),
          );
        }
      });
    }
    return result as never;
  }
}
