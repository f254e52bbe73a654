import { ValidationError } from '../common/errors';
import { describeValue, isAbsent, jsonTypeName } from './json-guards';
import { propertyPathProblem } from './property-path';
import { MAX_GROUP_BY_PROPERTIES } from './query.constants';
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
 *   for each invalid path (empty segments, the event `id` or `timestamp`, …; all collected), and for more
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
      typeof key === 'string'
        ? propertyPathProblem(key, 'grouped by')
        : `Each groupBy entry must be a property path string, not ${describeValue(key)}.`;
    return problem ? [{ field: 'groupBy', description: problem }] : [];
  });
  if (problems.length > 0) throw new ValidationError(problems);
  const unique = [...new Set(keys as string[])];
  if (unique.length > MAX_GROUP_BY_PROPERTIES) {
    throw ValidationError.of('groupBy', `A query can group by at most ${MAX_GROUP_BY_PROPERTIES} properties.`);
  }
  return unique.map((key) => ({ key, path: key.split('.') }));
}
