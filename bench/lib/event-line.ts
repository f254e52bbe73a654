import { distPath } from './paths';

let cached: string | undefined;

/**
 * The SQL expression for one exported event line, `{"id": …, "timestamp": "…Z", …properties}`, over
 * the events table aliased `e`: the service's own `eventJsonSql` (src/events/events.repository.ts),
 * so the baselines of B3 and B4 produce the service's bytes exactly, whatever the format becomes.
 * The format is the contract, not a choice a baseline could make faster; the hand-written part of
 * a baseline is the statement around it. Loaded from dist/ at run time rather than imported, so a
 * change in src/ cannot break the build of bench/. The harness calls it once at start, before
 * anyone's rebuild of dist/ could be under way.
 * @throws Error when the compiled service no longer exports `eventJsonSql(alias)`.
 */
export function eventLineSql(): string {
  if (cached) return cached;
  const repository = require(distPath('src/events/events.repository.js')) as { eventJsonSql?: (alias: string) => string };
  if (typeof repository.eventJsonSql !== 'function') {
    throw new Error('dist/src/events/events.repository.js no longer exports eventJsonSql(alias); update bench/lib/event-line.ts');
  }
  cached = repository.eventJsonSql('e');
  return cached;
}
