import { S3ServiceException } from '@aws-sdk/client-s3';
import type { LogLevel } from '@nestjs/common';
import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import { hostname } from 'node:os';
import pino from 'pino';
import { requestLogFields } from '../common';
import type { LogFormat as ConfiguredLogFormat, LoggingConfig, LogLevelName } from '../config';
import { networkErrorCode } from '../s3';

/** How log lines are written: one JSON object per line, or one line of plain text (docs/logging.md). */
export type LogFormat = ConfiguredLogFormat;

/**
 * Paths pino replaces by `[Redacted]` in whatever is logged: request headers that authenticate, and
 * the names under which keys, tokens and S3 credentials travel in this code. Nothing logs them on
 * purpose (the access line names none of them, requests and responses are never serialized); this
 * is the second line of defence (docs/logging.md, "Never logged").
 */
export const REDACTED_PATHS: readonly string[] = [
  ...['x-api-key', 'x-admin-token', 'authorization', 'cookie', 'set-cookie', 'proxy-authorization'].flatMap((name) => [
    `req.headers["${name}"]`,
    `res.headers["${name}"]`,
    `headers["${name}"]`,
  ]),
  ...[
    'apiKey',
    'api_key',
    'adminToken',
    'secretsKey',
    'masterKey',
    'keys',
    's3AccessKeyId',
    's3SecretAccessKey',
    'accessKeyId',
    'secretAccessKey',
    'credentials',
  ].flatMap((name) => [name, `*.${name}`]),
  'body',
  'req.body',
  'query',
  'req.query',
];

/** An error as a log field: its type, message, code and stack only (never the request an SDK error may carry). */
export function serializeError(error: unknown): { type: string; message: string; code?: string; stack?: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), stack: error.stack };
}

/**
 * A short, secret-free code for why an export or import attempt failed, for lifecycle lines: S3's
 * error code (`SignatureDoesNotMatch`, `NoSuchBucket`), a socket error (`ECONNREFUSED`), a driver's
 * `code` (PostgreSQL's SQLSTATE), else the error's class name.
 */
export function errorCodeOf(error: unknown): string {
  if (error instanceof S3ServiceException) return error.name;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  return networkErrorCode(error) ?? (error instanceof Error ? error.name : typeof error);
}

const LEVEL_COLOURS: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '36', trace: '90' };
/** One of pino's JSON lines: its own fields are text or numbers; the rest are the line's bindings. */
interface PinoLine extends Record<string, unknown> {
  level?: string | number;
  time?: string | number;
  msg?: string;
  context?: string;
  reqId?: string | number;
}

/** Fields a text line shows in its own place rather than in the trailing JSON. */
const TEXT_LINE_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'context', 'msg', 'reqId', 'err']);
const ACCESS_MESSAGE_FIELDS = ['event', 'method', 'route', 'status', 'durationMs', 'aborted'];

/**
 * One JSON log line as a line of text: `<time> <LEVEL> [<context>] request <reqId> <msg> {<other fields>}`,
 * then the stack of an `err` field. ANSI colours (the level) only when `colours` is set.
 */
export function textLine(line: string, colours: boolean): string {
  let entry: PinoLine;
  try {
    entry = JSON.parse(line) as PinoLine;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = String(entry.level ?? 'info');
  const label = level.toUpperCase().padEnd(5);
  // An access line's message already says its method, route, status and duration.
  const shown = entry.event === 'http.request' ? new Set([...TEXT_LINE_FIELDS, ...ACCESS_MESSAGE_FIELDS]) : TEXT_LINE_FIELDS;
  const rest = Object.fromEntries(Object.entries(entry).filter(([key]) => !shown.has(key)));
  // A message of several lines (a stack) keeps the fields on its first line.
  const text = entry.msg ?? '';
  const newline = text.indexOf('\n');
  const parts = [
    String(entry.time ?? new Date().toISOString()),
    colours ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${label}\x1b[0m` : label,
    entry.context ? `[${entry.context}]` : '',
    entry.reqId ? `request ${String(entry.reqId)}` : '',
    newline === -1 ? text : text.slice(0, newline),
    Object.keys(rest).length > 0 ? JSON.stringify(rest) : '',
  ];
  const err = entry.err as { stack?: string; message?: string } | undefined;
  const trailer = `${newline === -1 ? '' : text.slice(newline)}${err ? `\n${err.stack ?? err.message ?? ''}` : ''}`;
  return `${parts.filter(Boolean).join(' ')}${trailer}\n`;
}

/**
 * Where log lines go: stdout, looked up at every write (so a test may watch `process.stdout.write`).
 * `json` writes pino's lines as they are; `pretty` turns each into `textLine`, coloured only when
 * stdout is a terminal (and NO_COLOR is unset): redirected to a file, it holds no ANSI escape.
 */
export function logDestination(
  format: LogFormat,
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-boolean-literal-compare -- isTTY is undefined, not false, on a pipe
  colours = process.stdout.isTTY === true && !('NO_COLOR' in process.env),
): pino.DestinationStream {
  if (format === 'json') return { write: (line: string) => void process.stdout.write(line) };
  return { write: (line: string) => void process.stdout.write(textLine(line, colours)) };
}

/**
 * A pino logger as this service configures it: level names (`"level":"info"`), ISO-8601 UTC
 * `time`, `pid` and `hostname`, errors as `serializeError`, REDACTED_PATHS redacted, and while a
 * request is handled its `reqId` (and `projectId` once authenticated) on every line.
 */
export function createLogger(format: LogFormat, level: LogLevelName | 'silent', destination = logDestination(format)): pino.Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
      redact: { paths: [...REDACTED_PATHS], censor: '[Redacted]' },
      mixin: requestLogFields,
    },
    destination,
  );
}

let root: pino.Logger | undefined;

/**
 * The process's logger (one stdout, one logger): created on first use with `config`'s format and
 * level; a later call with `level` sets its level (in-process tests start several apps).
 */
export function processLogger(config: LoggingConfig, level?: LogLevelName | 'silent'): pino.Logger {
  if (!root) {
    root = createLogger(config.logFormat, level ?? config.logLevel);
  } else if (level !== undefined) {
    root.level = level;
  }
  return root;
}

/** Nest's logger interface over `logger` (nestjs-pino): what `new Logger(context)` writes through. */
export function nestLogger(logger: pino.Logger): PinoNestLogger {
  return new PinoNestLogger(new PinoLogger({ pinoHttp: { logger } }), {});
}

const NEST_TO_PINO: Record<LogLevel, LogLevelName> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** The pino level showing `levels` (Nest's names; the most detailed wins); `false`: nothing. */
export function pinoLevelOf(levels: LogLevel[] | false): LogLevelName | 'silent' {
  if (levels === false || levels.length === 0) return 'silent';
  const order: LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  return order.find((level) => levels.some((l) => NEST_TO_PINO[l] === level)) ?? 'silent';
}

/**
 * In json mode every line must be JSON: process warnings (Node's deprecation notices and the like),
 * which Node prints as text on stderr, are logged as `warn` lines instead. Nothing is hidden: a
 * process started with --no-warnings has no printer to replace and is left alone.
 */
export function logProcessWarnings(logger: pino.Logger, format: LogFormat): void {
  if (format !== 'json' || process.listenerCount('warning') === 0) return;
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) =>
    logger.warn({ context: 'Process', warning: warning.name, ...(warning.code ? { code: warning.code } : {}) }, warning.message),
  );
}
