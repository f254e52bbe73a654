import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Request, Response } from 'express';
import Redis from 'ioredis';
import { hkdfSync, createHmac } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { limitsConfig, LimitsConfig, RateLimit, RateLimitConfig, redisConfig, RedisConfig, secretsConfig, SecretsConfig } from '../config';
import { TooManyRequestsError } from './errors';

/** The per-project limits an endpoint counts against (`@RequiresKey(permission, limit)`). */
export type ProjectLimit = 'pushes' | 'queries' | 'smallExports' | 's3Exports';

/** What a request authenticates with: project id + API key, or the admin token. */
export type Credential = { projectId: string; apiKey: string } | { adminToken: string };

const PROJECT_LIMIT_NAMES: Record<ProjectLimit, string> = {
  pushes: 'push requests',
  queries: 'queries',
  smallExports: 'exports',
  s3Exports: 'S3 exports',
};

/**
 * The client address a per-address limit counts against: IPv4 as is (also when IPv4-mapped,
 * `::ffff:192.0.2.1`), IPv6 by its /64 prefix (`2001:db8:0:1::/64`), because one IPv6 client
 * usually holds a whole /64 and could otherwise take a fresh address for every attempt.
 */
export function addressKey(ip: string): string {
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const groups = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const [head, tail] = address.split('::');
  const full =
    tail === undefined
      ? groups(head)
      : [...groups(head), ...Array<string>(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * One limiter: counters in Redis (shared by every API process), each Redis call bounded by
 * `timeoutMs`. When Redis fails or is slower than that, this process's in-memory limiter with the
 * same limit decides instead ("fail open with insurance": requests keep being answered, each
 * process then enforcing the limit on its own, so N processes allow up to N times the limit).
 */
function limiter(redis: Redis, keyPrefix: string, limit: RateLimit, timeoutMs: number): RateLimiterAbstract {
  const options = { keyPrefix, points: limit.points, duration: limit.windowSeconds };
  const store = new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true });
  return new RLWrapperTimeouts({ limiter: store, timeoutMs, insuranceLimiter: new RateLimiterMemory(options) });
}

/** `RateLimit-*` headers (IETF draft "RateLimit header fields for HTTP"): limit, remaining, seconds to the window's end. */
function setHeaders(response: Response, limit: RateLimit, remaining: number, msBeforeNext: number): void {
  response.setHeader('RateLimit-Limit', String(limit.points));
  response.setHeader('RateLimit-Remaining', String(Math.max(0, remaining)));
  response.setHeader('RateLimit-Reset', String(Math.max(0, Math.ceil(msBeforeNext / 1000))));
}

/**
 * The service's rate limits (RATE_LIMIT_* in docs/configuration.md; src/config/limits.config.ts),
 * enforced by `ApiKeyGuard`, before the key is looked up and before any handler runs:
 *
 * - failed authentications (401) per client address (`request.ip`, see TRUST_PROXY) and per
 *   credential (project id + API key, or admin token). Once either is used up, requests from that
 *   address or with that credential are answered 429 without looking the key up, until the window
 *   ends;
 * - per project, requests of each kind (`ProjectLimit`), counted after successful authentication.
 *
 * Redis keys are `<prefix>:ratelimit:<limit>:<id>`; credentials appear in them only as an HMAC
 * keyed from SECRETS_KEY, so neither a key nor its stored SHA-256 can be read from Redis.
 * Each Redis call is bounded by RATE_LIMIT_REDIS_TIMEOUT_MS (see `limiter`); a request makes at
 * most two in sequence (the failed-authentication check, then a count).
 */
@Injectable()
export class RateLimitService implements OnModuleDestroy {
  private readonly logger = new Logger('RateLimit');
  private readonly redis: Redis | null = null;
  private readonly failuresPerAddress!: RateLimiterAbstract;
  private readonly failuresPerKey!: RateLimiterAbstract;
  private readonly perProject = {} as Record<ProjectLimit, RateLimiterAbstract>;
  private readonly hmacKey: Buffer;

  /** RATE_LIMIT_*, with the counters' Redis and key prefix resolved. */
  private readonly settings: RateLimitConfig & { redisUrl: string; prefix: string };

  constructor(
    @Inject(limitsConfig.KEY) limitsConfig: LimitsConfig,
    @Inject(redisConfig.KEY) redisConfig: RedisConfig,
    @Inject(secretsConfig.KEY) secretsConfig: SecretsConfig,
  ) {
    this.hmacKey = Buffer.from(hkdfSync('sha256', secretsConfig.secretsKey, '', 'connect rate-limit keys', 32));
    // The counters live in the queues' Redis, under their prefix, unless RATE_LIMIT_REDIS_URL / RATE_LIMIT_PREFIX say otherwise.
    const { rateLimit } = limitsConfig;
    this.settings = { ...rateLimit, redisUrl: rateLimit.redisUrl ?? redisConfig.url, prefix: rateLimit.prefix ?? redisConfig.queuePrefix };
    const settings = this.settings;
    if (!settings.enabled) {
      return;
    }
    this.redis = new Redis(settings.redisUrl, {
      // Fail fast instead of queueing commands while disconnected, and never wait long for an answer.
      enableOfflineQueue: false,
      commandTimeout: settings.redisTimeoutMs,
      connectTimeout: Math.max(1000, settings.redisTimeoutMs),
      maxRetriesPerRequest: 0,
      // On shutdown, a socket Redis does not close is destroyed after this long (ioredis: 2 s).
      disconnectTimeout: settings.redisTimeoutMs,
    });
    let up = true;
    this.redis.on('error', (error: Error) => {
      if (up) {
        up = false;
        this.logger.warn(`Redis for rate limits unavailable (${error.message}); each process now limits on its own, in memory`);
      }
    });
    this.redis.on('ready', () => {
      if (!up) {
        up = true;
        this.logger.log('Redis for rate limits is back');
      }
    });
    const make = (name: string, limit: RateLimit) =>
      limiter(this.redis!, `${settings.prefix}:ratelimit:${name}`, limit, settings.redisTimeoutMs);
    this.failuresPerAddress = make('auth-fail-address', settings.authFailuresPerAddress);
    this.failuresPerKey = make('auth-fail-key', settings.authFailuresPerKey);
    for (const name of Object.keys(PROJECT_LIMIT_NAMES) as ProjectLimit[]) {
      this.perProject[name] = make(`project-${name}`, settings[name]);
    }
  }

  onModuleDestroy(): void {
    // disconnect, not quit: quit would wait for an answer from a Redis that may not give one.
    this.redis?.disconnect();
  }

  /**
   * Refuses a request whose address or credential has used up its failed-authentication limit.
   * Call before looking the credential up.
   * @throws TooManyRequestsError (429, Retry-After = seconds until the window ends).
   */
  async refuseIfBlocked(request: Request, response: Response, credential: Credential): Promise<void> {
    if (!this.settings.enabled) return;
    const checks = this.failureKeys(request, credential).map(async ([limiter, key, limit]) => {
      const res = await limiter.get(key);
      return res && res.consumedPoints >= limit.points ? { res, limit } : null;
    });
    const over = (await Promise.all(checks)).find((x) => x !== null);
    if (over) {
      throw this.tooMany('Too many failed authentication attempts.', response, over.limit, over.res);
    }
  }

  /**
   * Counts a failed authentication against the request's address and credential.
   * @throws TooManyRequestsError when this failure went over a limit (concurrent attempts that all
   *   passed `refuseIfBlocked`); otherwise returns, and the caller answers 401.
   */
  async recordFailure(request: Request, response: Response, credential: Credential): Promise<void> {
    if (!this.settings.enabled) return;
    const keys = this.failureKeys(request, credential);
    const results = await Promise.allSettled(keys.map(([limiter, key]) => limiter.consume(key)));
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected' && result.reason instanceof RateLimiterRes) {
        throw this.tooMany('Too many failed authentication attempts.', response, keys[i][2], result.reason);
      }
    }
  }

  /**
   * Counts one request of `kind` for the project and sets the `RateLimit-*` headers.
   * @throws TooManyRequestsError (429, Retry-After) when the project's limit is used up.
   */
  async consumeProject(kind: ProjectLimit, projectId: string, response: Response): Promise<void> {
    if (!this.settings.enabled) return;
    const limit = this.settings[kind];
    try {
      const res = await this.perProject[kind].consume(projectId);
      setHeaders(response, limit, res.remainingPoints, res.msBeforeNext);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        throw this.tooMany(
          `Too many ${PROJECT_LIMIT_NAMES[kind]} for this project (at most ${limit.points} per ${limit.windowSeconds} s).`,
          response,
          limit,
          error,
        );
      }
      // Not reached: the in-memory insurance limiter answers when Redis does not. Fail open.
      this.logger.warn(`rate limit ${kind} not checked: ${(error as Error).message}`);
    }
  }

  private tooMany(message: string, response: Response, limit: RateLimit, res: RateLimiterRes): TooManyRequestsError {
    setHeaders(response, limit, 0, res.msBeforeNext);
    return new TooManyRequestsError(
      `${message} Try again in ${Math.max(1, Math.ceil(res.msBeforeNext / 1000))} s.`,
      res.msBeforeNext / 1000,
    );
  }

  /** The failed-authentication counters a request touches: [limiter, key, limit]. */
  private failureKeys(request: Request, credential: Credential): Array<[RateLimiterAbstract, string, RateLimit]> {
    const settings = this.settings;
    const keys: Array<[RateLimiterAbstract, string, RateLimit]> = [
      [this.failuresPerAddress, addressKey(request.ip ?? request.socket.remoteAddress ?? 'unknown'), settings.authFailuresPerAddress],
    ];
    const secret = 'adminToken' in credential ? `admin\n${credential.adminToken}` : `key\n${credential.projectId}\n${credential.apiKey}`;
    if ('adminToken' in credential ? credential.adminToken : credential.apiKey) {
      keys.push([this.failuresPerKey, this.digest(secret), settings.authFailuresPerKey]);
    }
    return keys;
  }

  /** HMAC-SHA256 of a credential, 32 hex characters: stable per credential, useless without SECRETS_KEY. */
  private digest(secret: string): string {
    return createHmac('sha256', this.hmacKey).update(secret, 'utf8').digest('hex').slice(0, 32);
  }
}
