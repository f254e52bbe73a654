import { FieldError, ValidationError } from '../../src/common/errors';

/** Runs `run` and returns the field errors of the ValidationError it throws; fails if it throws none. */
export function errorsOf(run: () => unknown): FieldError[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.errors;
    throw error;
  }
  throw new Error('expected a ValidationError');
}
