import { registerDecorator, ValidationOptions } from 'class-validator';
import { hasControlCharacter, isStorableText } from './storable-text';

/**
 * A string PostgreSQL can store (no NUL, no unpaired surrogates), without control characters, and
 * not only white space. Composite class-validator rule for free-text DTO fields.
 */
export function IsCleanText(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isCleanText',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be text without control characters, and not only spaces', ...options },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && isStorableText(value) && !hasControlCharacter(value) && value.trim().length > 0,
      },
    });
}
