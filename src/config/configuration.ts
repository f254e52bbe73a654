/**
 * Typed, fail-fast configuration, read from the environment in sections (docs/configuration.md
 * lists every variable). Each section (`httpConfig`, `databaseConfig`, …) is a class-validator
 * schema class of its variables, with their defaults, and a `registerAs` factory of the typed object
 * consumers inject: `@Inject(exportsConfig.KEY) exports: ConfigType<typeof exportsConfig>`.
 * `loadConfig` reads the sections a process needs and throws one `ConfigError` listing every
 * problem of all of them, so a misconfigured process stops at start instead of failing later.
 */
import type { DynamicModule } from '@nestjs/common';
import { ConfigModule, registerAs } from '@nestjs/config';
import { DatabaseConfig, databaseConfig } from './database.config';
import { ExportsConfig, exportsConfig } from './exports.config';
import { HttpConfig, httpConfig } from './http.config';
import { ImportsConfig, importsConfig } from './imports.config';
import { LimitsConfig, limitsConfig } from './limits.config';
import { LoggingConfig, loggingConfig } from './logging.config';
import { MetricsConfig, metricsConfig } from './metrics.config';
import { RedisConfig, redisConfig } from './redis.config';
import { SecretsConfig, secretsConfig } from './secrets.config';
import { ConfigError, ConfigSection } from './section';
import { ShutdownConfig, shutdownConfig } from './shutdown.config';
import type { Env } from './variables';

export { ConfigError } from './section';

/** The whole configuration: one typed object per section. */
export interface AppConfig {
  http: HttpConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  secrets: SecretsConfig;
  exports: ExportsConfig;
  imports: ImportsConfig;
  limits: LimitsConfig;
  logging: LoggingConfig;
  metrics: MetricsConfig;
  shutdown: ShutdownConfig;
}

export type SectionName = keyof AppConfig;

/** Every section, in the order their problems are listed. */
export const CONFIG_SECTIONS: { [N in SectionName]: ConfigSection<N, AppConfig[N]> } = {
  http: httpConfig,
  database: databaseConfig,
  redis: redisConfig,
  secrets: secretsConfig,
  exports: exportsConfig,
  imports: importsConfig,
  limits: limitsConfig,
  logging: loggingConfig,
  metrics: metricsConfig,
  shutdown: shutdownConfig,
};

const ALL_SECTIONS = Object.keys(CONFIG_SECTIONS) as SectionName[];

/**
 * Reads and validates the configuration from `env` (default `process.env`): every section, or only
 * `sections` (the CLIs': `['database']` needs no SECRETS_KEY).
 * @throws ConfigError listing every invalid variable of those sections ("Invalid configuration:\n  - …").
 */
export function loadConfig(env?: Env): AppConfig;
export function loadConfig<N extends SectionName>(env: Env, sections: readonly N[]): Pick<AppConfig, N>;
export function loadConfig(env: Env = process.env, sections: readonly SectionName[] = ALL_SECTIONS): Partial<AppConfig> {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of ALL_SECTIONS.filter((n) => sections.includes(n))) {
    const reading = CONFIG_SECTIONS[name].read(env);
    problems.push(...reading.problems);
    config[name] = reading.value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * One section read from `env` (default `process.env`), e.g. `loadSection('database').url`.
 * @throws ConfigError listing every invalid variable of the section.
 */
export function loadSection<N extends SectionName>(name: N, env: Env = process.env): AppConfig[N] {
  return loadConfig(env, [name])[name];
}

/**
 * `ConfigModule` (global) serving the sections of an already loaded configuration: each under its
 * section's token (`exportsConfig.KEY`), and through `ConfigService` (`get('exports.partSizeBytes')`).
 * It reads neither `.env` nor `process.env` itself, so a test's explicit environment is all there is.
 */
export function configModule(config: Partial<AppConfig>): Promise<DynamicModule> {
  return ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: true,
    validatePredefined: false,
    skipProcessEnv: true,
    load: (Object.keys(config) as SectionName[]).map((name) => registerAs(CONFIG_SECTIONS[name].sectionName, () => config[name]!)),
  });
}
