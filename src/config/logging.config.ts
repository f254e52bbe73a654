import { defineSection } from './section';
import { OneOf, Text } from './variables';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

/** Log lines: their format and the lowest level written. */
export class LoggingVariables {
  // Unset: json when NODE_ENV=production, else pretty.
  @OneOf(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' })
  LOG_FORMAT: LogFormat | null = null;

  @OneOf(LOG_LEVELS, { lowercase: true })
  LOG_LEVEL: LogLevelName = 'info';

  @Text()
  NODE_ENV: string | null = null;
}

export interface LoggingConfig {
  /** `json`: one JSON object per log line (the default when NODE_ENV=production); `pretty`: text for a terminal. */
  logFormat: LogFormat;
  /** Lowest level logged: `fatal`, `error`, `warn`, `info` (default), `debug`, `trace`. */
  logLevel: LogLevelName;
}

/** LOG_FORMAT, LOG_LEVEL (docs/configuration.md). */
export const loggingConfig = defineSection('logging', LoggingVariables, (v): LoggingConfig => ({
  logFormat: v.LOG_FORMAT ?? (v.NODE_ENV === 'production' ? 'json' : 'pretty'),
  logLevel: v.LOG_LEVEL,
}));
