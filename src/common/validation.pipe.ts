import { ValidationPipe, ValidationError as ClassValidatorError } from '@nestjs/common';
import { FieldError, ValidationError } from './errors';

function flatten(errors: ClassValidatorError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((description) => ({ field, description }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** The global DTO pipe: class-validator failures become Connect's 422 `{"errors": [...]}`. */
export function connectValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => new ValidationError(flatten(errors)),
  });
}
