import { defineSection } from './section';
import { Milliseconds, Text, UrlOf } from './variables';

/** Redis of the Bull queues (exports, imports). */
export class RedisVariables {
  @UrlOf(['redis:', 'rediss:'], 'redis://127.0.0.1:6379')
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Text()
  QUEUE_PREFIX = 'connect';

  @Milliseconds(100)
  REDIS_COMMAND_TIMEOUT_MS = 2000;
}

export interface RedisConfig {
  /** Redis connection URL used by the Bull export and import queues (`redis://` or `rediss://`). */
  url: string;
  /** Key prefix of the Bull queues in Redis (lets several deployments or test runs share a Redis). */
  queuePrefix: string;
  /** Longest wait for one Redis operation on a request path or in the export and import sweeps, ms. */
  commandTimeoutMs: number;
}

/** REDIS_URL, QUEUE_PREFIX, REDIS_COMMAND_TIMEOUT_MS (docs/configuration.md). */
export const redisConfig = defineSection('redis', RedisVariables, (v): RedisConfig => ({
  url: v.REDIS_URL,
  queuePrefix: v.QUEUE_PREFIX,
  commandTimeoutMs: v.REDIS_COMMAND_TIMEOUT_MS,
}));
