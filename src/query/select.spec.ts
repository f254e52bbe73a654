import { errorsOf } from '../../test/support/validation-errors';
import { parseSelect } from './select';

describe('parseSelect (Connect docs, "Aggregations")', () => {
  it('parses vector 6 in input order, aliases and paths keeping their case', () => {
    expect(
      parseSelect({
        itemsSold: 'count',
        totalPrice: { sum: 'price' },
        AveragePrice: { avg: 'Item.Price' },
        min: { min: 'p' },
        max: { max: '[Scripts]' },
      }),
    ).toEqual([
      { alias: 'itemsSold', operation: 'count' },
      { alias: 'totalPrice', operation: 'sum', property: 'price', path: ['price'] },
      { alias: 'AveragePrice', operation: 'avg', property: 'Item.Price', path: ['Item', 'Price'] },
      { alias: 'min', operation: 'min', property: 'p', path: ['p'] },
      { alias: 'max', operation: 'max', property: '[Scripts]', path: ['[Scripts]'] },
    ]);
  });

  it.each([undefined, null, {}])('rejects a missing or empty select (%j)', (value) => {
    expect(errorsOf(() => parseSelect(value))).toEqual([{ field: 'select', description: expect.stringContaining('needs a select') }]);
  });

  it.each(['count', ['count'], 5, true])('rejects a select that is not an object (%j)', (value) => {
    expect(errorsOf(() => parseSelect(value))).toEqual([
      { field: 'select', description: expect.stringContaining('The select must be an object') },
    ]);
  });

  it('collects one error per bad alias', () => {
    const errors = errorsOf(() =>
      parseSelect({
        ok: 'count',
        '': 'count',
        _count: 'count',
        Count: 'Count',
        none: {},
        two: { sum: 'a', max: 'a' },
        median: { median: 'a' },
        counted: { count: 'a' },
        number: { sum: 1 },
        nul: null,
        list: ['sum', 'a'],
        dots: { sum: '.a' },
        id: { sum: 'id.x' },
        time: { min: 'timestamp' },
        nested: { avg: { path: 'a' } },
      }),
    );
    expect(errors.map((e) => [e.field, e.description])).toEqual([
      ['select.', 'An alias cannot be empty.'],
      ['select._count', expect.stringContaining('reserved')],
      ['select.Count', expect.stringContaining("Unknown aggregation 'Count'")],
      ['select.none', expect.stringContaining('Exactly one aggregation per alias is allowed, got none')],
      ['select.two', expect.stringContaining("got 'sum', 'max'")],
      ['select.median', "Unknown aggregation 'median'; expected one of count, sum, avg, min, max."],
      ['select.counted', 'Count takes no property: write "count", not {"count": ...}.'],
      ['select.number', 'The property path must be a string, not 1.'],
      ['select.nul', expect.stringContaining('An aggregation cannot be null')],
      ['select.list', expect.stringContaining('An aggregation cannot be an array')],
      ['select.dots', "The property path '.a' must be non-empty names separated by single dots."],
      ['select.id', 'The event id cannot be queried.'],
      ['select.time', 'The event timestamp cannot be aggregated; use "interval" to bucket events by time.'],
      ['select.nested', 'The property path must be a string, not an object.'],
    ]);
  });

  it('allows at most 100 aliases', () => {
    const aliases = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, { sum: 'price' }]));
    expect(parseSelect(aliases(100))).toHaveLength(100);
    expect(errorsOf(() => parseSelect(aliases(101)))).toEqual([{ field: 'select', description: 'A select can have at most 100 aliases.' }]);
  });
});
