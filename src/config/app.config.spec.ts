import { loadConfig } from './app.config';

const BASE = { SECRETS_KEY: 'x'.repeat(32) };

describe('loadConfig: rate limits and TRUST_PROXY', () => {
  it('defaults: rate limits on, generous, counters under QUEUE_PREFIX in REDIS_URL; trust proxy off', () => {
    const config = loadConfig({ ...BASE, QUEUE_PREFIX: 'deploy-a', REDIS_URL: 'redis://redis.internal:6379' });
    expect(config.trustProxy).toBe(false);
    expect(config.rateLimit).toEqual({
      enabled: true,
      redisUrl: 'redis://redis.internal:6379',
      prefix: 'deploy-a',
      redisTimeoutMs: 250,
      authFailuresPerAddress: { points: 100, windowSeconds: 600 },
      authFailuresPerKey: { points: 20, windowSeconds: 600 },
      pushes: { points: 60000, windowSeconds: 60 },
      queries: { points: 6000, windowSeconds: 60 },
      smallExports: { points: 600, windowSeconds: 60 },
      s3Exports: { points: 60, windowSeconds: 60 },
    });
  });

  it('reads every rate-limit variable', () => {
    const config = loadConfig({
      ...BASE,
      RATE_LIMIT_ENABLED: 'FALSE',
      RATE_LIMIT_REDIS_URL: 'redis://limits:6380',
      RATE_LIMIT_PREFIX: 'rl',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '100',
      RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '7',
      RATE_LIMIT_AUTH_FAILURES_PER_KEY: '3',
      RATE_LIMIT_AUTH_WINDOW_SECONDS: '30',
      RATE_LIMIT_PUSHES: '10',
      RATE_LIMIT_QUERIES: '11',
      RATE_LIMIT_SMALL_EXPORTS: '12',
      RATE_LIMIT_S3_EXPORTS: '13',
      RATE_LIMIT_WINDOW_SECONDS: '5',
    });
    expect(config.rateLimit).toEqual({
      enabled: false,
      redisUrl: 'redis://limits:6380',
      prefix: 'rl',
      redisTimeoutMs: 100,
      authFailuresPerAddress: { points: 7, windowSeconds: 30 },
      authFailuresPerKey: { points: 3, windowSeconds: 30 },
      pushes: { points: 10, windowSeconds: 5 },
      queries: { points: 11, windowSeconds: 5 },
      smallExports: { points: 12, windowSeconds: 5 },
      s3Exports: { points: 13, windowSeconds: 5 },
    });
  });

  it.each([
    ['true', true],
    ['false', false],
    ['1', 1],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.7,fd00::/8', ['10.0.0.0/8', '192.168.1.7', 'fd00::/8']],
  ])('TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ ...BASE, TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it('rejects bad values, naming each variable', () => {
    expect(() =>
      loadConfig({
        ...BASE,
        TRUST_PROXY: '10.0.0.0/33,proxy.example.com',
        RATE_LIMIT_ENABLED: 'yes',
        RATE_LIMIT_PUSHES: '0',
        RATE_LIMIT_REDIS_TIMEOUT_MS: '5',
      }),
    ).toThrow(
      new Error(
        'Invalid configuration:\n' +
          "  - TRUST_PROXY entry '10.0.0.0/33' is not true, false, a hop count, loopback, linklocal, uniquelocal, an IP address or a subnet\n" +
          "  - TRUST_PROXY entry 'proxy.example.com' is not true, false, a hop count, loopback, linklocal, uniquelocal, an IP address or a subnet\n" +
          '  - RATE_LIMIT_ENABLED must be true or false\n' +
          '  - RATE_LIMIT_REDIS_TIMEOUT_MS must be an integer >= 10\n' +
          '  - RATE_LIMIT_PUSHES must be an integer >= 1',
      ),
    );
  });
});

describe('loadConfig: HOST', () => {
  it('listens on every IPv4 interface by default, or on the address given', () => {
    expect(loadConfig(BASE).host).toBe('0.0.0.0');
    expect(loadConfig({ ...BASE, HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ ...BASE, HOST: '::' }).host).toBe('::');
  });

  it('refuses a HOST that is not an address', () => {
    expect(() => loadConfig({ ...BASE, HOST: 'example.com' })).toThrow('HOST must be an IP address (0.0.0.0, 127.0.0.1, ::) or localhost');
  });
});

describe('loadConfig: EXPORT_MAX_PENDING_PER_PROJECT', () => {
  it('defaults to 20 and reads a positive integer', () => {
    expect(loadConfig(BASE).exportMaxPendingPerProject).toBe(20);
    expect(loadConfig({ ...BASE, EXPORT_MAX_PENDING_PER_PROJECT: '3' }).exportMaxPendingPerProject).toBe(3);
  });

  it.each(['0', '-1', '2.5', 'many'])('refuses %j', (value) => {
    expect(() => loadConfig({ ...BASE, EXPORT_MAX_PENDING_PER_PROJECT: value })).toThrow(
      /EXPORT_MAX_PENDING_PER_PROJECT must be an integer >= 1/,
    );
  });
});
