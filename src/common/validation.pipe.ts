import { ArgumentMetadata, ValidationPipe, ValidationError as ClassValidatorError } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { FieldError, ValidationError } from './errors';

function flatten(errors: ClassValidatorError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((description) => ({ field, description }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

const RAW_JSON_KEYS = Symbol('connect:rawJsonKeys');

/**
 * Marks a DTO property whose value must reach the handler exactly as the JSON body parser produced
 * it: the same reference, never copied, never walked. Nest's ValidationPipe would otherwise delete
 * `constructor` and `prototype` keys at any depth (`stripProtoKeys`) and class-transformer would
 * skip every key whose name is an `Object.prototype` member (`toString`, `valueOf`,
 * `hasOwnProperty`, …) while copying the value, so a filter such as `{"valueOf": "x"}` would
 * silently vanish. The property's own class-validator rules still run, on the raw value (they must
 * not validate nested objects). `__proto__` keys never get this far: `JsonBodyMiddleware` refuses them.
 */
export function RawJson(): PropertyDecorator {
  return (target, propertyKey) => {
    const keys = (Reflect.getOwnMetadata(RAW_JSON_KEYS, target.constructor) as string[] | undefined) ?? [];
    Reflect.defineMetadata(RAW_JSON_KEYS, [...keys, String(propertyKey)], target.constructor);
  };
}

/** The `@RawJson()` properties of a DTO class (none for other types). */
export function rawJsonKeys(metatype: unknown): string[] {
  return typeof metatype === 'function' ? ((Reflect.getMetadata(RAW_JSON_KEYS, metatype) as string[] | undefined) ?? []) : [];
}

/**
 * ValidationPipe that leaves `@RawJson()` properties untouched: they are taken off a shallow copy of
 * the body before Nest and class-transformer see it, and put back (same references) on the DTO
 * instance just before class-validator runs, so `whitelist` and the property's rules apply to them.
 */
class ConnectValidationPipe extends ValidationPipe {
  private readonly detached = new AsyncLocalStorage<Record<string, unknown>>();

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const keys = rawJsonKeys(metadata.metatype);
    if (keys.length === 0 || typeof value !== 'object' || value === null || Array.isArray(value)) {
      return super.transform(value, metadata);
    }
    const rest: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const raw: Record<string, unknown> = {};
    for (const key of keys) {
      if (Object.hasOwn(rest, key)) {
        raw[key] = rest[key];
        Reflect.deleteProperty(rest, key);
      }
    }
    return this.detached.run(raw, () => super.transform(rest, metadata));
  }

  protected override validate(object: object, options?: Parameters<ValidationPipe['validate']>[1]) {
    const raw = this.detached.getStore();
    if (raw) Object.assign(object, raw);
    return super.validate(object, options);
  }
}

/**
 * The global DTO pipe: class-validator failures become Connect's 422 `{"errors": [...]}`. Unknown
 * top-level DTO keys are dropped (`whitelist`), as Connect ignored them; `@RawJson()` properties
 * are passed through as sent.
 */
export function connectValidationPipe(): ValidationPipe {
  return new ConnectValidationPipe({
    whitelist: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => new ValidationError(flatten(errors)),
  });
}
