import { ExactNumber, isExactNumber } from '../common';
import type { EventSelection, FilterCondition } from '../query';

/**
 * An ExactNumber operand as stored: `{"exactNumber": "12345678901234567890"}`. The selection column
 * is written with JSON.stringify (TypeORM) and read back with JSON.parse (pg), which would turn the
 * number into a double (or an ExactNumber into a plain object); operands are otherwise scalars or
 * arrays of scalars, so an object is unambiguous.
 */
interface StoredExactNumber {
  exactNumber: string;
}

type StoredScalar = string | number | boolean | StoredExactNumber;

/** A filter condition as stored: ExactNumber operands as StoredExactNumber. */
export interface StoredCondition extends Omit<FilterCondition, 'operand'> {
  operand: StoredScalar | null | StoredScalar[];
}

/** JSON form of an EventSelection, stored with an export (timeframe bounds as ISO strings, UTC). */
export interface StoredSelection {
  filters: StoredCondition[];
  timeframe: { start: string | null; end: string | null } | null;
}

type Scalar = string | number | ExactNumber | boolean;

function storeScalar(value: Scalar): StoredScalar {
  return isExactNumber(value) ? { exactNumber: value.value } : value;
}

function loadScalar(value: StoredScalar): Scalar {
  return typeof value === 'object' && value !== null ? new ExactNumber(value.exactNumber) : value;
}

/**
 * Freezes a selection for storage. Relative timeframes are already resolved to absolute UTC
 * bounds, so a retried export selects the same time range; the timezone has done its work.
 */
export function serializeSelection(selection: EventSelection): StoredSelection {
  const timeframe = selection.timeframe;
  return {
    filters: selection.filters.map(({ operand, ...condition }) => ({
      ...condition,
      operand: operand === null ? null : Array.isArray(operand) ? operand.map(storeScalar) : storeScalar(operand),
    })),
    timeframe: timeframe ? { start: timeframe.start?.toISOString() ?? null, end: timeframe.end?.toISOString() ?? null } : null,
  };
}

/** The selection `serializeSelection` stored (also one stored before ExactNumbers, which has none). */
export function deserializeSelection(stored: unknown): EventSelection {
  const { filters, timeframe } = stored as StoredSelection;
  return {
    filters: filters.map(({ operand, ...condition }) => ({
      ...condition,
      operand: operand === null ? null : Array.isArray(operand) ? operand.map(loadScalar) : loadScalar(operand),
    })),
    timeframe: timeframe
      ? {
          start: timeframe.start ? new Date(timeframe.start) : null,
          end: timeframe.end ? new Date(timeframe.end) : null,
        }
      : null,
    timezone: null,
  };
}
