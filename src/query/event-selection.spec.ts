import { errorsOf } from '../../test/support/validation-errors';
import { parseEventSelection, parseExportQuery } from './event-selection';

const now = new Date('2026-05-13T15:42:17.123Z');
const absolute = { start: '2015-02-01T00:00:00.000Z', end: '2015-02-25T00:00:00.000Z' };

describe('parseEventSelection', () => {
  it('returns an empty selection for {} and for the Swift SDK defaults', () => {
    const empty = { filters: [], timeframe: null, timezone: null };
    expect(parseEventSelection({}, { now, hasInterval: false })).toEqual(empty);
    expect(parseEventSelection({ select: {}, filter: {}, groupBy: [] }, { now, hasInterval: false })).toEqual(empty);
    expect(parseEventSelection({ filter: null, timeframe: null, timezone: null }, { now, hasInterval: false })).toEqual(empty);
  });

  it('combines filter, timeframe and timezone (docs export vector)', () => {
    expect(parseEventSelection({ filter: { product: 'apple' }, timeframe: 'today', timezone: 10 }, { now, hasInterval: false })).toEqual({
      filters: [{ path: ['product'], operator: 'eq', operand: 'apple' }],
      timeframe: { start: new Date('2026-05-13T14:00:00.000Z'), end: new Date('2026-05-14T14:00:00.000Z') },
      timezone: { kind: 'offset', minutes: 600, input: 10 },
    });
  });

  it('resolves the relative timeframe in the query timezone', () => {
    const sel = parseEventSelection({ timeframe: { current: { days: 3 } }, timezone: 'Australia/Brisbane' }, { now, hasInterval: false });
    // now is 2026-05-14T01:42 in Brisbane (+10): the 12th, 13th and 14th of May, local time
    expect(sel.timeframe).toEqual({ start: new Date('2026-05-11T14:00:00.000Z'), end: new Date('2026-05-14T14:00:00.000Z') });
    expect(sel.timezone).toEqual({ kind: 'iana', name: 'Australia/Brisbane', input: 'Australia/Brisbane' });
  });

  describe('timezone rule (Connect docs, "Timezones", vector 9)', () => {
    it('allows a timezone with a relative timeframe, an interval, or an absolute timeframe plus an interval', () => {
      expect(parseEventSelection({ timeframe: 'this_month', timezone: 10 }, { now, hasInterval: false }).timezone).not.toBeNull();
      expect(parseEventSelection({ timezone: 'Australia/Brisbane' }, { now, hasInterval: true }).timezone).not.toBeNull();
      const sel = parseEventSelection({ timeframe: absolute, timezone: 10 }, { now, hasInterval: true });
      expect(sel.timeframe).toEqual({ start: new Date('2015-02-01T00:00:00.000Z'), end: new Date('2015-02-25T00:00:00.000Z') });
    });

    it('rejects a timezone with neither an interval nor a timeframe', () => {
      expect(errorsOf(() => parseEventSelection({ timezone: 10 }, { now, hasInterval: false }))).toEqual([
        { field: 'timezone', description: expect.stringContaining('interval or a relative timeframe') },
      ]);
    });

    it('rejects a timezone with an absolute timeframe and no interval', () => {
      expect(
        errorsOf(() => parseEventSelection({ timeframe: absolute, timezone: 0 }, { now, hasInterval: false })).map((e) => e.field),
      ).toEqual(['timezone']);
    });

    it('reports an invalid timezone once, not also the rule', () => {
      expect(errorsOf(() => parseEventSelection({ timezone: 'Japan/Tokyo' }, { now, hasInterval: false }))).toEqual([
        { field: 'timezone', description: expect.stringContaining("Unknown time zone 'Japan/Tokyo'") },
      ]);
    });

    it('does not add the rule error when the timeframe itself is invalid', () => {
      expect(
        errorsOf(() => parseEventSelection({ timeframe: 'someday', timezone: 10 }, { now, hasInterval: false })).map((e) => e.field),
      ).toEqual(['timeframe']);
    });
  });

  it('collects the errors of all keys in one ValidationError', () => {
    const doc = { filter: { id: 1, price: { foo: 1 } }, timeframe: { start: 'x' }, timezone: 'Japan/Tokyo' };
    expect(errorsOf(() => parseEventSelection(doc, { now, hasInterval: true })).map((e) => e.field)).toEqual([
      'filter.id',
      'filter.price.foo',
      'timezone',
      'timeframe.start',
    ]);
  });
});

describe('parseExportQuery', () => {
  it('accepts filter and timeframe (docs vectors 15 and 16) and ignores unknown keys', () => {
    expect(parseExportQuery({ filter: { product: 'apple' }, timeframe: 'today', nonEmpty: false }, now)).toEqual({
      filters: [{ path: ['product'], operator: 'eq', operand: 'apple' }],
      timeframe: { start: new Date('2026-05-13T00:00:00.000Z'), end: new Date('2026-05-14T00:00:00.000Z') },
      timezone: null,
    });
  });

  it('accepts empty select/groupBy/interval values that SDKs send by default', () => {
    expect(parseExportQuery({ select: {}, groupBy: [], interval: null, filter: {} }, now)).toEqual({
      filters: [],
      timeframe: null,
      timezone: null,
    });
    expect(parseExportQuery({ groupBy: '', interval: '' }, now)).toEqual({ filters: [], timeframe: null, timezone: null });
  });

  it('rejects select, groupBy and interval, each with its own field', () => {
    const errors = errorsOf(() => parseExportQuery({ select: { n: 'count' }, groupBy: 'country', interval: 'daily' }, now));
    expect(errors).toEqual([
      { field: 'select', description: 'Exports support only filter and timeframe; remove "select".' },
      { field: 'groupBy', description: 'Exports support only filter and timeframe; remove "groupBy".' },
      { field: 'interval', description: 'Exports support only filter and timeframe; remove "interval".' },
    ]);
  });

  it('applies the timezone rule without an interval: relative timeframe yes, absolute no', () => {
    expect(parseExportQuery({ timeframe: 'today', timezone: -8 }, now).timeframe).toEqual({
      start: new Date('2026-05-13T08:00:00.000Z'),
      end: new Date('2026-05-14T08:00:00.000Z'),
    });
    expect(errorsOf(() => parseExportQuery({ timeframe: absolute, timezone: -8 }, now)).map((e) => e.field)).toEqual(['timezone']);
  });

  it('collects forbidden keys together with selection errors', () => {
    expect(errorsOf(() => parseExportQuery({ interval: 'daily', filter: { timestamp: 1 } }, now)).map((e) => e.field)).toEqual([
      'interval',
      'filter.timestamp',
    ]);
  });
});

describe("a filtered key's conditions (keyFilters, docs/keys.md)", () => {
  const keyFilters = [{ path: ['tenant'], operator: 'eq' as const, operand: 'acme' }];

  it("are ANDed before the document's filter, for queries and exports, also without a filter", () => {
    expect(parseEventSelection({ filter: { price: { gt: 5 } } }, { now, hasInterval: false, keyFilters }).filters).toEqual([
      { path: ['tenant'], operator: 'eq', operand: 'acme' },
      { path: ['price'], operator: 'gt', operand: 5 },
    ]);
    expect(parseExportQuery({}, now, undefined, keyFilters).filters).toEqual(keyFilters);
    expect(parseExportQuery({ filter: { tenant: 'x' } }, now, undefined, keyFilters).filters).toEqual([
      ...keyFilters,
      { path: ['tenant'], operator: 'eq', operand: 'x' },
    ]);
  });

  it('count toward QUERY_MAX_FILTER_CONDITIONS', () => {
    const limits = { maxFilterConditions: 2, maxInValues: 10, maxDocumentChars: 16_384 };
    expect(parseExportQuery({ filter: { a: 1 } }, now, limits, keyFilters).filters).toHaveLength(2);
    expect(errorsOf(() => parseExportQuery({ filter: { a: 1, b: 2 } }, now, limits, keyFilters))).toEqual([
      { field: 'filter', description: expect.stringContaining('the 1 of this filtered API key included') },
    ]);
  });
});
