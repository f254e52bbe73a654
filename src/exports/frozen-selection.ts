import type { EventSelection } from '../query/query.types';

/** JSON form of an EventSelection, stored with an export (timeframe bounds as ISO strings, UTC). */
export interface StoredSelection {
  filters: EventSelection['filters'];
  timeframe: { start: string | null; end: string | null } | null;
}

/**
 * Freezes a selection for storage. Relative timeframes are already resolved to absolute UTC
 * bounds, so a retried export selects the same time range; the timezone has done its work.
 */
export function serializeSelection(selection: EventSelection): StoredSelection {
  const timeframe = selection.timeframe;
  return {
    filters: selection.filters,
    timeframe: timeframe
      ? { start: timeframe.start?.toISOString() ?? null, end: timeframe.end?.toISOString() ?? null }
      : null,
  };
}

export function deserializeSelection(stored: unknown): EventSelection {
  const { filters, timeframe } = stored as StoredSelection;
  return {
    filters,
    timeframe: timeframe
      ? {
          start: timeframe.start ? new Date(timeframe.start) : null,
          end: timeframe.end ? new Date(timeframe.end) : null,
        }
      : null,
    timezone: null,
  };
}
