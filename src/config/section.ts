import { ConfigFactoryKeyHost, registerAs } from '@nestjs/config';
import { Env, readVariables } from './variables';

/** A configuration that cannot be used: `problems` lists every invalid variable, one sentence each. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** What reading one section from an environment gives: its value, or the problems of its variables. */
export type SectionReading<T> = { value: T; problems: [] } | { value: null; problems: string[] };

/**
 * One section of the configuration, as `registerAs` makes it (inject it with
 * `@Inject(exportsConfig.KEY) config: ConfigType<typeof exportsConfig>`), plus what the loader needs:
 * its name, its schema class and `read`, which reads it from any environment.
 */
export type ConfigSection<N extends string, T> = (() => T) &
  ConfigFactoryKeyHost<T> & {
    readonly sectionName: N;
    readonly schema: new () => object;
    read(env: Env): SectionReading<T>;
  };

/**
 * Defines a section: the variables of `schema`, validated, then shaped by `build` into the object
 * consumers get. Called as a factory (by `ConfigModule.forFeature`), it reads `process.env` and
 * throws a `ConfigError`; `loadConfig` (configuration.ts) reads sections from an explicit environment
 * and lists the problems of all of them at once.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- registerAs takes Record<string, any>; section interfaces have no index signature for `unknown`
export function defineSection<N extends string, V extends object, T extends Record<string, any>>(
  name: N,
  schema: new () => V,
  build: (variables: V) => T,
): ConfigSection<N, T> {
  const read = (env: Env): SectionReading<T> => {
    const { variables, problems } = readVariables(schema, env);
    return problems.length === 0 ? { value: build(variables), problems: [] } : { value: null, problems };
  };
  const factory = registerAs(name, (): T => {
    const reading = read(process.env);
    if (reading.value === null) throw new ConfigError(reading.problems);
    return reading.value;
  });
  return Object.assign(factory, { sectionName: name, schema, read });
}
