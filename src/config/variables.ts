/**
 * Environment variables as class-validator schema classes. Each section of the configuration
 * (src/config/*.config.ts) declares its variables as properties named like the variable, with the
 * variable's one default as the initializer and one decorator from this file, which says how the
 * text is read and which values are valid. `readVariables` reads a class from an environment and
 * validates it with `validateSync`; every problem is one sentence naming the variable.
 */
import { registerDecorator, validateSync } from 'class-validator';

/** An environment: `process.env`, or an object of the same shape (tests, CLIs). */
export type Env = Record<string, string | undefined>;

/** How one variable is read and checked. */
export interface VariableRule {
  /** The value of the variable's text (trimmed unless `raw`; an unset or blank variable keeps the default). */
  parse: (text: string) => unknown;
  /** What is wrong with a value (read or default), one sentence each; none when it is valid. */
  problems: (value: unknown, name: string) => string[];
  /** Take the text exactly as given (SECRETS_KEY): only an empty variable counts as unset. */
  raw?: boolean;
}

const RULES = new Map<object, Map<string, VariableRule>>();

/** Declares the property as the environment variable of the same name, read and checked by `rule`. */
export function Variable(rule: VariableRule): PropertyDecorator {
  return (target, property) => {
    const name = String(property);
    const rules = RULES.get(target.constructor) ?? new Map<string, VariableRule>();
    RULES.set(target.constructor, rules.set(name, rule));
    registerDecorator({
      name: 'environmentVariable',
      target: target.constructor,
      propertyName: name,
      validator: {
        validate: (value: unknown) => rule.problems(value, name).length === 0,
        // One constraint per variable, so several problems (one per bad list entry) share its message, a line each.
        defaultMessage: (args) => rule.problems(args?.value, name).join('\n'),
      },
    });
  };
}

/** An integer from `min` (to `max`); `Number()` reads the text, as before (so `1e3` is 1000). */
export function Integer(min: number, max?: number): PropertyDecorator {
  return Variable({
    parse: Number,
    problems: (value, name) =>
      Number.isInteger(value) && (value as number) >= min && (max === undefined || (value as number) <= max)
        ? []
        : [max === undefined ? `${name} must be an integer >= ${min}` : `${name} must be an integer from ${min} to ${max}`],
  });
}

/**
 * Node's longest timer delay, ms (2^31 - 1, about 24.8 days): a longer `setTimeout` or
 * `setInterval` fires after 1 ms instead (TimeoutOverflowWarning), and PostgreSQL's
 * `statement_timeout` stops there too.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration in ms from `min` to MAX_TIMER_MS: a larger one would make its timer fire at once (a shutdown's grace, a sweep's interval). */
export function Milliseconds(min: number): PropertyDecorator {
  return Integer(min, MAX_TIMER_MS);
}

/** A duration in seconds from `min` to MAX_TIMER_MS / 1000 (the rate limits' windows, whose in-memory fallback times them in ms). */
export function Seconds(min: number): PropertyDecorator {
  return Integer(min, Math.floor(MAX_TIMER_MS / 1000));
}

/** A TCP port from 1 to 65535, or unset (null). */
export function OptionalPort(): PropertyDecorator {
  return Variable({
    parse: Number,
    problems: (value, name) =>
      value === null || (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535)
        ? []
        : [`${name} must be a port from 1 to 65535`],
  });
}

/** `true` or `false`, in any case. */
export function Bool(): PropertyDecorator {
  return Variable({
    parse: (text) => ({ true: true, false: false })[text.toLowerCase()] ?? text,
    problems: (value, name) => (typeof value === 'boolean' ? [] : [`${name} must be true or false`]),
  });
}

/**
 * One of `values` (or null when the default is null).
 * @param options.lowercase read the text in lower case first.
 * @param options.message the problem, when not "NAME must be one of a, b, c".
 */
export function OneOf(values: readonly string[], options: { lowercase?: boolean; message?: string } = {}): PropertyDecorator {
  return Variable({
    parse: (text) => (options.lowercase ? text.toLowerCase() : text),
    problems: (value, name) =>
      value === null || values.includes(value as string) ? [] : [options.message ?? `${name} must be one of ${values.join(', ')}`],
  });
}

/**
 * A URL of one of `protocols` (`['redis:', 'rediss:']`), or null when the default is null. The
 * problem never repeats the value, which may hold a password.
 */
export function UrlOf(protocols: readonly string[], example: string): PropertyDecorator {
  const names = protocols.map((p) => `${p}//`);
  const list = names.length === 2 ? `${names[0]} or ${names[1]}` : names.join(', ');
  return Variable({
    parse: (text) => text,
    problems: (value, name) => {
      if (value === null) return [];
      let protocol: string | null = null;
      try {
        protocol = new URL(value as string).protocol;
      } catch {
        // not a URL at all
      }
      return protocol !== null && protocols.includes(protocol) ? [] : [`${name} must be a ${list} URL, e.g. ${example}`];
    },
  });
}

/**
 * Text, or null when unset and the default is null.
 * @param options.minLength shortest valid text, with `message` as the problem.
 * @param options.raw take the text exactly as given (see `VariableRule.raw`).
 */
export function Text(options: { minLength?: number; message?: string; raw?: boolean } = {}): PropertyDecorator {
  return Variable({
    raw: options.raw,
    parse: (text) => text,
    problems: (value) =>
      options.minLength === undefined || value === null || (value as string).length >= options.minLength ? [] : [options.message!],
  });
}

/** The variables `schema` declares, by name. */
export function variablesOf(schema: new () => object): string[] {
  return [...(RULES.get(schema)?.keys() ?? [])];
}

/**
 * Reads the variables `schema` declares from `env`: an unset or blank variable keeps the class's
 * default, a set one is parsed by its rule; then every variable is validated (`validateSync`).
 * @returns the variables, and the problems in declaration order (empty when all are valid).
 */
export function readVariables<V extends object>(schema: new () => V, env: Env): { variables: V; problems: string[] } {
  const variables = new schema();
  for (const [name, rule] of RULES.get(schema) ?? []) {
    const text = rule.raw ? env[name] : env[name]?.trim();
    if (text) (variables as Record<string, unknown>)[name] = rule.parse(text);
  }
  const problems = validateSync(variables).flatMap((error) => Object.values(error.constraints ?? {}).flatMap((m) => m.split('\n')));
  return { variables, problems };
}
