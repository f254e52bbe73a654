import { Inject, Injectable } from '@nestjs/common';
import { ConfigService, ConfigType } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { parse } from 'dotenv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig, CONFIG_SECTIONS, ConfigError, configModule, loadConfig, loadSection } from './configuration';
import { databaseConfig } from './database.config';
import { exportsConfig } from './exports.config';
import { MAX_TIMER_MS, variablesOf } from './variables';

const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

const SECRETS_KEY = 'x'.repeat(32);
const BASE = { SECRETS_KEY };

/** The problems `loadConfig(env)` lists (none: []). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('loadConfig: defaults', () => {
  it('gives every section its defaults when only SECRETS_KEY is set', () => {
    const expected: AppConfig = {
      http: {
        host: '0.0.0.0',
        port: 3000,
        role: 'all',
        publicBaseUrl: null,
        trustProxy: false,
        idleTimeoutMs: 60000,
        closeLingerMs: 2000,
        production: false,
      },
      database: {
        url: 'postgres://postgres@127.0.0.1:5432/connect',
        connectTimeoutMs: 2000,
        queryStatementTimeoutMs: 10000,
        exportStatementTimeoutMs: 600000,
      },
      redis: { url: 'redis://127.0.0.1:6379', queuePrefix: 'connect', commandTimeoutMs: 2000 },
      secrets: { secretsKey: SECRETS_KEY, adminToken: null },
      exports: {
        s3AllowedEndpoints: [],
        maxPendingPerProject: 20,
        lockDurationMs: 30000,
        stalledIntervalMs: 15000,
        maxStalledCount: 3,
        partSizeBytes: 8388608,
        queueSize: 4,
        concurrency: 4,
        maxRunningPerProject: 2,
        maxAttempts: 10,
        retryBudgetMs: 3600000,
        retryBaseDelayMs: 2000,
        retryMaxDelayMs: 60000,
        stallTimeoutMs: 120000,
        s3RequestTimeoutMs: 60000,
        streamConnections: 8,
        streamConnectionsPerProject: 2,
        streamMinBytesPerSecond: 1024,
        streamGraceMs: 30000,
        sweepIntervalMs: 30000,
      },
      imports: { concurrency: 2, batchLines: 2000, maxPendingPerProject: 5, maxRunningPerProject: 1 },
      limits: {
        query: { maxFilterConditions: 100, maxInValues: 1000, maxDocumentChars: 16384 },
        rateLimit: {
          enabled: true,
          redisUrl: null,
          prefix: null,
          redisTimeoutMs: 250,
          authFailuresPerAddress: { points: 100, windowSeconds: 600 },
          authFailuresPerKey: { points: 20, windowSeconds: 600 },
          pushes: { points: 60000, windowSeconds: 60 },
          queries: { points: 6000, windowSeconds: 60 },
          smallExports: { points: 600, windowSeconds: 60 },
          s3Exports: { points: 60, windowSeconds: 60 },
        },
      },
      logging: { logFormat: 'pretty', logLevel: 'info' },
      metrics: { metricsPort: null, healthPort: null },
      shutdown: { shutdownGraceMs: 25000 },
    };
    expect(loadConfig(BASE)).toEqual(expected);
  });

  it('treats a blank variable as unset (the default), and trims the others', () => {
    const config = loadConfig({ ...BASE, PORT: '  ', HOST: ' 127.0.0.1 ', QUEUE_PREFIX: '', EXPORT_CONCURRENCY: ' 7 ' });
    expect([config.http.port, config.http.host, config.redis.queuePrefix, config.exports.concurrency]).toEqual([
      3000,
      '127.0.0.1',
      'connect',
      7,
    ]);
  });

  it('takes SECRETS_KEY exactly as given (the encryption key is derived from that text)', () => {
    expect(loadSection('secrets', { SECRETS_KEY: ` ${SECRETS_KEY} ` }).secretsKey).toBe(` ${SECRETS_KEY} `);
  });

  it('declares every variable in exactly one section (NODE_ENV, read by two, has no default), each in docs/configuration.md under its section', () => {
    const documented = new Map<string, string>();
    let section = '';
    for (const line of readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8').split('\n')) {
      section = /^## (\w+)$/.exec(line)?.[1] ?? section;
      const variable = /^\| `([A-Z0-9_]+)` \|/.exec(line)?.[1];
      if (variable) documented.set(variable, section);
    }
    const declared = Object.values(CONFIG_SECTIONS).flatMap((s) => variablesOf(s.schema).map((name) => [name, s.sectionName] as const));
    const once = declared.filter(([name]) => name !== 'NODE_ENV');
    expect(new Set(once.map(([name]) => name)).size).toBe(once.length);
    expect(new Map(once)).toEqual(new Map([...documented].filter(([name]) => name !== 'NODE_ENV')));
    expect(documented.get('NODE_ENV')).toBe('http');
    expect(once.length).toBe(60);
  });

  it('.env.example is a working configuration once SECRETS_KEY is filled in (as scripts/setup.sh does)', () => {
    const example = parse(readFileSync(join(__dirname, '..', '..', '.env.example')));
    expect(example.SECRETS_KEY).toBe('');
    const config = loadConfig({ ...example, SECRETS_KEY });
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/connect');
    expect(config.exports.s3AllowedEndpoints).toEqual(['http://127.0.0.1:4569']);
    expect(config.secrets.adminToken).toBeNull();
  });
});

describe('loadConfig: sections on their own', () => {
  it('loads the database section without SECRETS_KEY (what ensure-database and migrate load)', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@db:5433/x' }, ['database'])).toEqual({
      database: {
        url: 'postgresql://u@db:5433/x',
        connectTimeoutMs: 2000,
        queryStatementTimeoutMs: 10000,
        exportStatementTimeoutMs: 600000,
      },
    });
    expect(loadSection('database', {}).url).toBe('postgres://postgres@127.0.0.1:5432/connect');
  });

  it('checks only the sections asked for', () => {
    expect(() => loadConfig({ REDIS_URL: 'nope' }, ['database'])).not.toThrow();
    expect(() => loadConfig({ REDIS_URL: 'nope' }, ['database', 'redis'])).toThrow(
      new Error('Invalid configuration:\n  - REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379'),
    );
  });

  it('refuses to load everything without SECRETS_KEY', () => {
    expect(() => loadConfig({})).toThrow(
      new Error(
        'Invalid configuration:\n  - SECRETS_KEY must be set to a random string of at least 32 characters (e.g. `openssl rand -hex 32`)',
      ),
    );
  });

  it('each section is a registerAs factory reading process.env', () => {
    expect(databaseConfig.KEY).toBe('CONFIGURATION(database)');
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = 'postgres://factory@127.0.0.1:5432/f';
    try {
      expect(databaseConfig().url).toBe('postgres://factory@127.0.0.1:5432/f');
      process.env.DATABASE_URL = 'mysql://nope';
      expect(() => databaseConfig()).toThrow(/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });
});

describe('loadConfig: the one error listing every problem', () => {
  it('lists the problems of every section, section by section, each naming its variable', () => {
    expect(() =>
      loadConfig({
        SECRETS_KEY: 'short',
        PORT: 'http',
        DATABASE_URL: 'mysql://root:hunter2@db/connect',
        REDIS_URL: 'nope',
        EXPORT_MAX_ATTEMPTS: '1001',
        IMPORT_BATCH_LINES: '0',
        RATE_LIMIT_REDIS_URL: 'http://127.0.0.1:6379',
        LOG_LEVEL: 'verbose',
        HEALTH_PORT: '65536',
        SHUTDOWN_GRACE_MS: '-1',
      }),
    ).toThrow(
      new Error(
        'Invalid configuration:\n' +
          '  - PORT must be an integer from 0 to 65535\n' +
          '  - DATABASE_URL must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@127.0.0.1:5432/connect\n' +
          '  - REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379\n' +
          '  - SECRETS_KEY must be set to a random string of at least 32 characters (e.g. `openssl rand -hex 32`)\n' +
          '  - EXPORT_MAX_ATTEMPTS must be an integer from 1 to 1000\n' +
          '  - IMPORT_BATCH_LINES must be an integer from 1 to 50000\n' +
          '  - RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379\n' +
          '  - LOG_LEVEL must be one of fatal, error, warn, info, debug, trace\n' +
          '  - HEALTH_PORT must be a port from 1 to 65535\n' +
          '  - SHUTDOWN_GRACE_MS must be an integer from 0 to 2147483647',
      ),
    );
  });

  it('never repeats a URL, which may hold a password, nor a secret', () => {
    const message = problemsOf({
      SECRETS_KEY: 'hunter2-secret',
      DATABASE_URL: 'mysql://root:hunter2@db/connect',
      REDIS_URL: 'redis//:hunter2@r',
    }).join('\n');
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).not.toMatch(/hunter2/);
  });
});

describe('loadConfig: integer bounds', () => {
  // [variable, lowest valid value, highest valid value or null]
  it.each([
    ['PORT', 0, 65535],
    ['HTTP_IDLE_TIMEOUT_MS', 1000, MAX_TIMER_MS],
    ['HTTP_CLOSE_LINGER_MS', 0, MAX_TIMER_MS],
    ['DATABASE_CONNECT_TIMEOUT_MS', 100, MAX_TIMER_MS],
    ['QUERY_STATEMENT_TIMEOUT_MS', 0, MAX_TIMER_MS],
    ['EXPORT_STATEMENT_TIMEOUT_MS', 0, MAX_TIMER_MS],
    ['REDIS_COMMAND_TIMEOUT_MS', 100, MAX_TIMER_MS],
    ['EXPORT_MAX_PENDING_PER_PROJECT', 1, null],
    ['EXPORT_LOCK_DURATION_MS', 1000, MAX_TIMER_MS],
    ['EXPORT_STALLED_INTERVAL_MS', 500, MAX_TIMER_MS],
    ['EXPORT_MAX_STALLED_COUNT', 1, null],
    ['EXPORT_PART_SIZE_BYTES', 5 * 1024 * 1024, 1024 * 1024 * 1024],
    ['EXPORT_QUEUE_SIZE', 1, null],
    ['EXPORT_CONCURRENCY', 1, null],
    ['EXPORT_MAX_RUNNING_PER_PROJECT', 1, null],
    ['EXPORT_MAX_ATTEMPTS', 1, 1000],
    ['EXPORT_RETRY_BUDGET_MS', 0, MAX_TIMER_MS],
    ['EXPORT_RETRY_BASE_DELAY_MS', 10, MAX_TIMER_MS],
    ['EXPORT_RETRY_MAX_DELAY_MS', 10, MAX_TIMER_MS],
    ['EXPORT_STALL_TIMEOUT_MS', 500, MAX_TIMER_MS],
    ['EXPORT_S3_REQUEST_TIMEOUT_MS', 100, MAX_TIMER_MS],
    ['EXPORT_STREAM_CONNECTIONS', 1, null],
    ['EXPORT_STREAM_CONNECTIONS_PER_PROJECT', 1, null],
    ['EXPORT_STREAM_MIN_BYTES_PER_SECOND', 0, null],
    ['EXPORT_STREAM_GRACE_MS', 100, MAX_TIMER_MS],
    ['EXPORT_SWEEP_INTERVAL_MS', 100, MAX_TIMER_MS],
    ['IMPORT_CONCURRENCY', 1, null],
    ['IMPORT_BATCH_LINES', 1, 50000],
    ['IMPORT_MAX_PENDING_PER_PROJECT', 1, null],
    ['IMPORT_MAX_RUNNING_PER_PROJECT', 1, null],
    ['QUERY_MAX_FILTER_CONDITIONS', 1, 10000],
    ['QUERY_MAX_IN_VALUES', 1, 100000],
    ['QUERY_MAX_DOCUMENT_CHARS', 2, 262144],
    ['RATE_LIMIT_REDIS_TIMEOUT_MS', 10, MAX_TIMER_MS],
    ['RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS', 1, null],
    ['RATE_LIMIT_AUTH_FAILURES_PER_KEY', 1, null],
    ['RATE_LIMIT_AUTH_WINDOW_SECONDS', 1, MAX_TIMER_SECONDS],
    ['RATE_LIMIT_PUSHES', 1, null],
    ['RATE_LIMIT_QUERIES', 1, null],
    ['RATE_LIMIT_SMALL_EXPORTS', 1, null],
    ['RATE_LIMIT_S3_EXPORTS', 1, null],
    ['RATE_LIMIT_WINDOW_SECONDS', 1, MAX_TIMER_SECONDS],
    ['SHUTDOWN_GRACE_MS', 0, MAX_TIMER_MS],
  ] as Array<[string, number, number | null]>)('%s: from %d to %s', (name, min, max) => {
    const problem = max === null ? `${name} must be an integer >= ${min}` : `${name} must be an integer from ${min} to ${max}`;
    expect(problemsOf({ ...BASE, [name]: String(min) })).toEqual([]);
    expect(problemsOf({ ...BASE, [name]: String(min - 1) })).toEqual([problem]);
    expect(problemsOf({ ...BASE, [name]: `${min}.5` })).toEqual([problem]);
    expect(problemsOf({ ...BASE, [name]: 'many' })).toEqual([problem]);
    if (max !== null) {
      expect(problemsOf({ ...BASE, [name]: String(max) })).toEqual([]);
      expect(problemsOf({ ...BASE, [name]: String(max + 1) })).toEqual([problem]);
    }
  });

  it('reads the values given into the typed sections', () => {
    const config = loadConfig({
      ...BASE,
      EXPORT_PART_SIZE_BYTES: '6291456',
      EXPORT_MAX_PENDING_PER_PROJECT: '3',
      IMPORT_BATCH_LINES: '500',
      QUERY_MAX_IN_VALUES: '7',
      DATABASE_CONNECT_TIMEOUT_MS: '150',
      EXPORT_STATEMENT_TIMEOUT_MS: '0',
      SHUTDOWN_GRACE_MS: '1e3',
    });
    expect(config.exports.partSizeBytes).toBe(6291456);
    expect(config.exports.maxPendingPerProject).toBe(3);
    expect(config.imports.batchLines).toBe(500);
    expect(config.limits.query.maxInValues).toBe(7);
    expect(config.database.connectTimeoutMs).toBe(150);
    expect(config.database.exportStatementTimeoutMs).toBe(0);
    expect(config.shutdown.shutdownGraceMs).toBe(1000);
  });
});

describe('loadConfig: http', () => {
  it('listens on every IPv4 interface by default, or on the address given', () => {
    expect(loadSection('http', {}).host).toBe('0.0.0.0');
    expect(loadSection('http', { HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadSection('http', { HOST: '::' }).host).toBe('::');
    expect(loadSection('http', { HOST: 'localhost' }).host).toBe('localhost');
  });

  it('refuses a HOST that is not an address', () => {
    expect(problemsOf({ ...BASE, HOST: 'example.com' })).toEqual(['HOST must be an IP address (0.0.0.0, 127.0.0.1, ::) or localhost']);
  });

  it.each(['all', 'api', 'worker'])('ROLE=%s', (role) => {
    expect(loadSection('http', { ROLE: role }).role).toBe(role);
  });

  it('refuses another ROLE', () => {
    expect(problemsOf({ ...BASE, ROLE: 'Worker' })).toEqual(['ROLE must be one of all, api, worker']);
  });

  it('PUBLIC_BASE_URL: an absolute http(s) URL, without its trailing slashes', () => {
    expect(loadSection('http', { PUBLIC_BASE_URL: 'https://analytics.example.com/' }).publicBaseUrl).toBe('https://analytics.example.com');
    expect(loadSection('http', { PUBLIC_BASE_URL: 'http://h:8080/base//' }).publicBaseUrl).toBe('http://h:8080/base');
    expect(problemsOf({ ...BASE, PUBLIC_BASE_URL: 'analytics.example.com' })).toEqual(['PUBLIC_BASE_URL must be an absolute http(s) URL']);
    expect(problemsOf({ ...BASE, PUBLIC_BASE_URL: 'ftp://h' })).toEqual(['PUBLIC_BASE_URL must be an absolute http(s) URL']);
  });

  it.each([
    ['true', true],
    ['false', false],
    ['1', 1],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.7,fd00::/8', ['10.0.0.0/8', '192.168.1.7', 'fd00::/8']],
  ])('TRUST_PROXY=%s', (value, expected) => {
    expect(loadSection('http', { TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it('production follows NODE_ENV', () => {
    expect(loadSection('http', { NODE_ENV: 'production' }).production).toBe(true);
    expect(loadSection('http', { NODE_ENV: 'development' }).production).toBe(false);
  });
});

describe('loadConfig: URLs', () => {
  it.each(['postgres://u:p@db:5432/connect', 'postgresql://db/connect'])('DATABASE_URL=%s', (url) => {
    expect(loadSection('database', { DATABASE_URL: url }).url).toBe(url);
  });

  it.each(['mysql://db/connect', 'db:5432/connect', 'nope'])('refuses DATABASE_URL=%s', (url) => {
    expect(() => loadSection('database', { DATABASE_URL: url })).toThrow(
      new Error(
        'Invalid configuration:\n  - DATABASE_URL must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@127.0.0.1:5432/connect',
      ),
    );
  });

  it.each(['redis://127.0.0.1:6379', 'rediss://:secret@cache.example.com:6380/2'])('REDIS_URL=%s', (url) => {
    expect(loadSection('redis', { REDIS_URL: url }).url).toBe(url);
    expect(loadSection('limits', { RATE_LIMIT_REDIS_URL: url }).rateLimit.redisUrl).toBe(url);
  });

  it.each(['nope', 'http://127.0.0.1:6379', '127.0.0.1:6379'])('refuses REDIS_URL and RATE_LIMIT_REDIS_URL=%s', (url) => {
    expect(problemsOf({ ...BASE, REDIS_URL: url, RATE_LIMIT_REDIS_URL: url })).toEqual([
      'REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
      'RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
    ]);
  });

  it('S3_ALLOWED_ENDPOINTS: comma-separated origins, each named when it is not one', () => {
    expect(
      loadSection('exports', { S3_ALLOWED_ENDPOINTS: 'http://127.0.0.1:4569/, https://MinIO.example.com ,' }).s3AllowedEndpoints,
    ).toEqual(['http://127.0.0.1:4569', 'https://minio.example.com']);
    expect(problemsOf({ ...BASE, S3_ALLOWED_ENDPOINTS: 'http://ok:1,minio:9000,https://h/bucket,ftp://h' })).toEqual([
      "S3_ALLOWED_ENDPOINTS entry 'minio:9000' is not an origin like http://127.0.0.1:4569",
      "S3_ALLOWED_ENDPOINTS entry 'https://h/bucket' is not an origin like http://127.0.0.1:4569",
      "S3_ALLOWED_ENDPOINTS entry 'ftp://h' is not an origin like http://127.0.0.1:4569",
    ]);
  });
});

describe('loadConfig: secrets', () => {
  it('SECRETS_KEY of at least 32 characters; ADMIN_TOKEN of at least 16, or unset (admin endpoints off)', () => {
    expect(loadSection('secrets', { SECRETS_KEY, ADMIN_TOKEN: ` ${'t'.repeat(16)} ` })).toEqual({
      secretsKey: SECRETS_KEY,
      adminToken: 't'.repeat(16),
    });
    expect(loadSection('secrets', { SECRETS_KEY, ADMIN_TOKEN: ' ' }).adminToken).toBeNull();
    expect(problemsOf({ SECRETS_KEY: 'x'.repeat(31), ADMIN_TOKEN: 't'.repeat(15) })).toEqual([
      'SECRETS_KEY must be set to a random string of at least 32 characters (e.g. `openssl rand -hex 32`)',
      'ADMIN_TOKEN must be at least 16 characters when set',
    ]);
  });
});

describe('loadConfig: limits (query caps and rate limits)', () => {
  it('reads every rate-limit variable', () => {
    expect(
      loadSection('limits', {
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
      }).rateLimit,
    ).toEqual({
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

  it('rejects bad values, naming each variable (TRUST_PROXY of the http section first)', () => {
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
          '  - RATE_LIMIT_REDIS_TIMEOUT_MS must be an integer from 10 to 2147483647\n' +
          '  - RATE_LIMIT_PUSHES must be an integer >= 1',
      ),
    );
  });
});

describe('loadConfig: logging, metrics, shutdown', () => {
  it('LOG_FORMAT defaults to json in production, pretty elsewhere; LOG_LEVEL is read in any case', () => {
    expect(loadSection('logging', { NODE_ENV: 'production' })).toEqual({ logFormat: 'json', logLevel: 'info' });
    expect(loadSection('logging', { NODE_ENV: 'production', LOG_FORMAT: 'pretty', LOG_LEVEL: 'DEBUG' })).toEqual({
      logFormat: 'pretty',
      logLevel: 'debug',
    });
    expect(problemsOf({ ...BASE, LOG_FORMAT: 'text', LOG_LEVEL: 'verbose' })).toEqual([
      'LOG_FORMAT must be json or pretty',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace',
    ]);
  });

  it('METRICS_PORT and HEALTH_PORT: unset, or a port from 1 to 65535', () => {
    expect(loadSection('metrics', { METRICS_PORT: '9464', HEALTH_PORT: '65535' })).toEqual({ metricsPort: 9464, healthPort: 65535 });
    expect(problemsOf({ ...BASE, METRICS_PORT: '0', HEALTH_PORT: 'http' })).toEqual([
      'METRICS_PORT must be a port from 1 to 65535',
      'HEALTH_PORT must be a port from 1 to 65535',
    ]);
  });

  it('SHUTDOWN_GRACE_MS', () => {
    expect(loadSection('shutdown', { SHUTDOWN_GRACE_MS: '0' })).toEqual({ shutdownGraceMs: 0 });
  });

  it("refuses durations past Node's timer limit, whose timers would fire after 1 ms (a grace that exits at once, a sweep every ms)", () => {
    expect(loadSection('shutdown', { SHUTDOWN_GRACE_MS: String(MAX_TIMER_MS) })).toEqual({ shutdownGraceMs: 2147483647 });
    expect(
      problemsOf({ ...BASE, SHUTDOWN_GRACE_MS: '99999999999', EXPORT_SWEEP_INTERVAL_MS: '1e21', RATE_LIMIT_WINDOW_SECONDS: '3e6' }),
    ).toEqual([
      'EXPORT_SWEEP_INTERVAL_MS must be an integer from 100 to 2147483647',
      'RATE_LIMIT_WINDOW_SECONDS must be an integer from 1 to 2147483',
      'SHUTDOWN_GRACE_MS must be an integer from 0 to 2147483647',
    ]);
  });
});

describe('configModule', () => {
  @Injectable()
  class NeedsExports {
    constructor(@Inject(exportsConfig.KEY) readonly exports: ConfigType<typeof exportsConfig>) {}
  }

  it('serves each loaded section under its token and through ConfigService, from the explicit environment only', async () => {
    const config = loadConfig({ ...BASE, EXPORT_PART_SIZE_BYTES: '6291456' }, ['exports', 'secrets']);
    const saved = process.env.EXPORT_PART_SIZE_BYTES;
    process.env.EXPORT_PART_SIZE_BYTES = '7340032';
    try {
      const moduleRef = await Test.createTestingModule({ imports: [configModule(config)], providers: [NeedsExports] }).compile();
      expect(moduleRef.get(NeedsExports).exports.partSizeBytes).toBe(6291456);
      expect(moduleRef.get(ConfigService).get('exports.partSizeBytes')).toBe(6291456);
      expect(moduleRef.get(ConfigService).get('EXPORT_PART_SIZE_BYTES')).toBeUndefined();
      expect(() => moduleRef.get(databaseConfig.KEY)).toThrow();
      await moduleRef.close();
    } finally {
      if (saved === undefined) delete process.env.EXPORT_PART_SIZE_BYTES;
      else process.env.EXPORT_PART_SIZE_BYTES = saved;
    }
  });
});
