import { DEFAULT_QUERY_LIMITS, MAX_CONFIGURABLE_FILTER_CONDITIONS, QueryLimits } from './query-limits';
import { defineSection } from './section';
import { Bool, Integer, Milliseconds, Seconds, Text, UrlOf } from './variables';

/** A rate limit: at most `points` requests (or failures) per `windowSeconds` fixed window. */
export interface RateLimit {
  points: number;
  windowSeconds: number;
}

/** Rate limits, enforced in Redis so that every API process shares them (src/common/rate-limit.ts). */
export interface RateLimitConfig {
  /** false turns every rate limit off. */
  enabled: boolean;
  /** Redis holding the counters; null: the queues' Redis (REDIS_URL, the redis section). */
  redisUrl: string | null;
  /** Prefix of the counters' Redis keys; null: QUEUE_PREFIX (the redis section). Processes sharing it share the limits. */
  prefix: string | null;
  /** How long a limiter waits for Redis, ms, before the in-memory limiter of the process decides. */
  redisTimeoutMs: number;
  /** Failed authentications (401) per client address. */
  authFailuresPerAddress: RateLimit;
  /** Failed authentications (401) with one project id + API key, or one admin token. */
  authFailuresPerKey: RateLimit;
  /** Per project: push requests (`POST /events`, `POST /events/:collection`). */
  pushes: RateLimit;
  /** Per project: queries, S3 export monitor reads, cancellations and listings (GET /exports). */
  queries: RateLimit;
  /** Per project: small exports (`GET /events/:collection/export`). */
  smallExports: RateLimit;
  /** Per project: S3 exports started (`POST /events/:collection/export`). */
  s3Exports: RateLimit;
}

/** Caps on query documents, and the rate limits. */
export class LimitsVariables {
  @Integer(1, MAX_CONFIGURABLE_FILTER_CONDITIONS)
  QUERY_MAX_FILTER_CONDITIONS = DEFAULT_QUERY_LIMITS.maxFilterConditions;

  @Integer(1, 100_000)
  QUERY_MAX_IN_VALUES = DEFAULT_QUERY_LIMITS.maxInValues;

  // The largest JSON body outside pushes is 256 KB (json-body.ts), so more could never arrive.
  @Integer(2, 256 * 1024)
  QUERY_MAX_DOCUMENT_CHARS = DEFAULT_QUERY_LIMITS.maxDocumentChars;

  @Bool()
  RATE_LIMIT_ENABLED = true;

  @UrlOf(['redis:', 'rediss:'], 'redis://127.0.0.1:6379')
  RATE_LIMIT_REDIS_URL: string | null = null;

  @Text()
  RATE_LIMIT_PREFIX: string | null = null;

  @Milliseconds(10)
  RATE_LIMIT_REDIS_TIMEOUT_MS = 250;

  @Integer(1)
  RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS = 100;

  @Integer(1)
  RATE_LIMIT_AUTH_FAILURES_PER_KEY = 20;

  @Seconds(1)
  RATE_LIMIT_AUTH_WINDOW_SECONDS = 600;

  @Integer(1)
  RATE_LIMIT_PUSHES = 60_000;

  @Integer(1)
  RATE_LIMIT_QUERIES = 6000;

  @Integer(1)
  RATE_LIMIT_SMALL_EXPORTS = 600;

  @Integer(1)
  RATE_LIMIT_S3_EXPORTS = 60;

  @Seconds(1)
  RATE_LIMIT_WINDOW_SECONDS = 60;
}

export interface LimitsConfig {
  /** Caps on a query document: filter conditions, `in` values, characters (src/config/query-limits.ts). */
  query: QueryLimits;
  /** Rate limits. */
  rateLimit: RateLimitConfig;
}

/** QUERY_MAX_* and RATE_LIMIT_* (docs/configuration.md). */
export const limitsConfig = defineSection('limits', LimitsVariables, (v): LimitsConfig => {
  const auth = (points: number): RateLimit => ({ points, windowSeconds: v.RATE_LIMIT_AUTH_WINDOW_SECONDS });
  const perProject = (points: number): RateLimit => ({ points, windowSeconds: v.RATE_LIMIT_WINDOW_SECONDS });
  return {
    query: {
      maxFilterConditions: v.QUERY_MAX_FILTER_CONDITIONS,
      maxInValues: v.QUERY_MAX_IN_VALUES,
      maxDocumentChars: v.QUERY_MAX_DOCUMENT_CHARS,
    },
    rateLimit: {
      enabled: v.RATE_LIMIT_ENABLED,
      redisUrl: v.RATE_LIMIT_REDIS_URL,
      prefix: v.RATE_LIMIT_PREFIX,
      redisTimeoutMs: v.RATE_LIMIT_REDIS_TIMEOUT_MS,
      authFailuresPerAddress: auth(v.RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS),
      authFailuresPerKey: auth(v.RATE_LIMIT_AUTH_FAILURES_PER_KEY),
      pushes: perProject(v.RATE_LIMIT_PUSHES),
      queries: perProject(v.RATE_LIMIT_QUERIES),
      smallExports: perProject(v.RATE_LIMIT_SMALL_EXPORTS),
      s3Exports: perProject(v.RATE_LIMIT_S3_EXPORTS),
    },
  };
});
