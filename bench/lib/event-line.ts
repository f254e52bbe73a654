import { eventJsonSql } from '../../src/events/event-json';

/**
 * The SQL expression for one exported event line, `{"id": …, "timestamp": "…Z", …properties}`, over
 * the events table aliased `e`: the service's own `eventJsonSql`, so the baselines of B3 and B4
 * produce the service's bytes exactly. The format is the contract, not a choice a baseline could
 * make faster; the hand-written part of a baseline is the statement around it.
 */
export function eventLineSql(): string {
  return eventJsonSql('e');
}
