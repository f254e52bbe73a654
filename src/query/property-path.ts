import { checkPath } from './filter';

/**
 * Why a property path cannot be aggregated or grouped by, or null when it is valid
 * (Connect docs, "Aggregations", "Group by"). The syntax rules are the filter's (`checkPath`: non-empty
 * dot-separated names of at most 255 characters, no U+0000, not the event `id`); the event
 * `timestamp` gets its own hint, because time is bucketed with `interval`, not selected.
 */
export function propertyPathProblem(key: string, use: 'aggregated' | 'grouped by'): string | null {
  if (key.split('.')[0] === 'timestamp') {
    return `The event timestamp cannot be ${use}; use "interval" to bucket events by time.`;
  }
  return checkPath(key);
}
