import { ValidationError } from '../common';
import { describeValue, isAbsent, jsonTypeName } from './json-guards';
import { propertyPathProblem } from './property-path';
import { MAX_GROUP_BY_PROPERTIES } from './query.constants';
import { COUNT_KEY } from './select';
import { GroupBy } from './query.types';

/**
 * Parses the query's `groupBy` (Connect docs, "Group by"): a property path or an array of them.
 *
 * - `"country"` ≡ `["country"]`; paths are dotted (`"product.category"`) and keep their case.
 * - Absent, `null`, `""` and `[]` mean "not grouped" (the Swift SDK always sends `[]`).
 * - Repeated paths count once, at their first position (as the .NET SDK de-duplicates them).
 *
 * @returns the groups in input order; `key` is the path as given, which becomes the result rows' flat key.
 * @throws ValidationError, field `groupBy`, for a value that is not a string or an array of strings,
 *   for each invalid path (empty segments, the event `id` or `timestamp`, `_count`, the key of every
 *   row's count, …; all collected), and for more
 *   than 20 distinct paths.
 */
export function parseGroupBy(value: unknown): GroupBy[] {
  if (isAbsent(value) || value === '') return [];
  if (typeof value !== 'string' && !Array.isArray(value)) {
    throw ValidationError.of('groupBy', `The groupBy must be a property path or an array of them, not ${jsonTypeName(value)}.`);
  }
  const keys: unknown[] = typeof value === 'string' ? [value] : value;
  const problems = keys.flatMap((key) => {
    const problem =
      typeof key !== 'string'
        ? `Each groupBy entry must be a property path string, not ${describeValue(key)}.`
        : key === COUNT_KEY
          ? `"${COUNT_KEY}" cannot be grouped by: every result row carries the event count under that key.`
          : propertyPathProblem(key, 'grouped by');
    return problem ? [{ field: 'groupBy', description: problem }] : [];
  });
  if (problems.length > 0) throw new ValidationError(problems);
  const unique = [...new Set(keys as string[])];
  if (unique.length > MAX_GROUP_BY_PROPERTIES) {
    throw ValidationError.of('groupBy', `A query can group by at most ${MAX_GROUP_BY_PROPERTIES} properties.`);
  }
  return unique.map((key) => ({ key, path: key.split('.') }));
}
