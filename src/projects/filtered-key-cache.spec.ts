import { FilteredKeyCache } from './filtered-key-cache';
import type { FilteredKeyDefinition } from './filtered-key';

const definition = (n: number): FilteredKeyDefinition => ({
  canQuery: true,
  canPush: false,
  filters: [{ path: ['n'], operator: 'eq', operand: n }],
});

describe('FilteredKeyCache', () => {
  it('ids depend on the project, the master key ciphertext and the key, not on its hex case', () => {
    const id = FilteredKeyCache.cacheId('p1', 'v1.a.b.c', 'ABCDEF-0123');
    expect(FilteredKeyCache.cacheId('p1', 'v1.a.b.c', 'abcdef-0123')).toBe(id);
    expect(FilteredKeyCache.cacheId('p2', 'v1.a.b.c', 'ABCDEF-0123')).not.toBe(id);
    expect(FilteredKeyCache.cacheId('p1', 'v1.a.b.d', 'ABCDEF-0123')).not.toBe(id);
    expect(FilteredKeyCache.cacheId('p1', 'v1.a.b.c', 'ABCDEF-0124')).not.toBe(id);
    expect(id).not.toContain('ABCDEF');
  });

  it('answers what was cached and counts hits and misses', () => {
    const cache = new FilteredKeyCache();
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', definition(1), 10);
    expect(cache.get('a')).toEqual(definition(1));
    expect([cache.hits, cache.misses, cache.size]).toEqual([1, 1, 1]);
  });

  it('evicts the least recently used beyond maxEntries', () => {
    const cache = new FilteredKeyCache(2, 1000);
    cache.set('a', definition(1), 1);
    cache.set('b', definition(2), 1);
    cache.get('a'); // a is now the most recently used
    cache.set('c', definition(3), 1);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([definition(1), undefined, definition(3)]);
    expect(cache.size).toBe(2);
  });

  it('evicts beyond maxChars, and never keeps a key larger than the bound', () => {
    const cache = new FilteredKeyCache(100, 10);
    cache.set('a', definition(1), 4);
    cache.set('b', definition(2), 4);
    cache.set('c', definition(3), 4); // 12 > 10: a goes
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, definition(2), definition(3)]);
    cache.set('huge', definition(4), 11);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.set('b', definition(5), 10); // replacing an entry re-weighs it: c goes
    expect([cache.get('b'), cache.get('c'), cache.size]).toEqual([definition(5), undefined, 1]);
  });
});
