import { errorsOf } from '../../test/support/validation-errors';
import { parseGroupBy } from './group-by';

describe('parseGroupBy (Connect docs, "Group by")', () => {
  it('takes a string or an array of dotted paths, keeping their case and order', () => {
    expect(parseGroupBy('country')).toEqual([{ key: 'country', path: ['country'] }]);
    expect(parseGroupBy(['Country', 'product.category'])).toEqual([
      { key: 'Country', path: ['Country'] },
      { key: 'product.category', path: ['product', 'category'] },
    ]);
  });

  it.each([undefined, null, '', []])('means "not grouped" for %j (the Swift SDK sends [])', (value) => {
    expect(parseGroupBy(value)).toEqual([]);
  });

  it('keeps the first of repeated paths (.NET vector ["G1","G2","G3"])', () => {
    expect(parseGroupBy(['G1', 'G2', 'G1', 'G3']).map((g) => g.key)).toEqual(['G1', 'G2', 'G3']);
  });

  it('rejects other types and collects every bad entry', () => {
    expect(errorsOf(() => parseGroupBy({ country: 1 }))).toEqual([
      { field: 'groupBy', description: 'The groupBy must be a property path or an array of them, not object.' },
    ]);
    expect(errorsOf(() => parseGroupBy(['ok', null, 'a..b', 'id', 'timestamp.x', 'x'.repeat(256)])).map((e) => e.description)).toEqual([
      'Each groupBy entry must be a property path string, not null.',
      "The property path 'a..b' must be non-empty names separated by single dots.",
      'The event id cannot be queried.',
      'The event timestamp cannot be grouped by; use "interval" to bucket events by time.',
      'Each name in a property path must be at most 255 characters.',
    ]);
  });

  it('allows at most 20 distinct properties', () => {
    const paths = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
    expect(parseGroupBy([...paths(20), 'p0'])).toHaveLength(20);
    expect(errorsOf(() => parseGroupBy(paths(21)))).toEqual([
      { field: 'groupBy', description: 'A query can group by at most 20 properties.' },
    ]);
  });

  it('refuses _count, the key every row carries its count under (it overwrote the group value)', () => {
    expect(errorsOf(() => parseGroupBy(['_count']))).toEqual([
      { field: 'groupBy', description: '"_count" cannot be grouped by: every result row carries the event count under that key.' },
    ]);
    expect(parseGroupBy('_count.n')).toEqual([{ key: '_count.n', path: ['_count', 'n'] }]);
  });
});
