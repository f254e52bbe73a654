import { defineSection } from './section';
import { Text } from './variables';

/** The two secrets of the service. Their values never appear in a problem, a log line or a response. */
export class SecretsVariables {
  // Taken as given, not trimmed: the encryption key is derived from the exact text.
  @Text({
    raw: true,
    minLength: 32,
    message: 'SECRETS_KEY must be set to a random string of at least 32 characters (e.g. `openssl rand -hex 32`)',
  })
  SECRETS_KEY = '';

  @Text({ minLength: 16, message: 'ADMIN_TOKEN must be at least 16 characters when set' })
  ADMIN_TOKEN: string | null = null;
}

export interface SecretsConfig {
  /** Secret (>= 32 characters) from which the AES-256-GCM key for secrets at rest (and the rate limits' HMAC key) is derived. */
  secretsKey: string;
  /** Token for `X-Admin-Token`; admin endpoints are off when null. */
  adminToken: string | null;
}

/** SECRETS_KEY (required), ADMIN_TOKEN (docs/configuration.md). */
export const secretsConfig = defineSection('secrets', SecretsVariables, (v): SecretsConfig => ({
  secretsKey: v.SECRETS_KEY,
  adminToken: v.ADMIN_TOKEN,
}));
