import { errorsOf } from '../../test/support/validation-errors';
import { ExactNumber } from '../common';
import { combineFilters, parseFilter } from './filter';
import type { FilterCondition } from './query.types';

describe('parseFilter', () => {
  it.each([undefined, null, {}])('gives no conditions for %j', (value) => {
    expect(parseFilter(value)).toEqual([]);
  });

  it('reads a scalar as eq and splits the path on dots (docs vector)', () => {
    expect(parseFilter({ product: '12 red roses', 'product.category': 'Bikes', qty: 5, paid: true, note: null })).toEqual([
      { path: ['product'], operator: 'eq', operand: '12 red roses' },
      { path: ['product', 'category'], operator: 'eq', operand: 'Bikes' },
      { path: ['qty'], operator: 'eq', operand: 5 },
      { path: ['paid'], operator: 'eq', operand: true },
      { path: ['note'], operator: 'eq', operand: null },
    ]);
  });

  it('reads an array as in', () => {
    expect(parseFilter({ category: ['Bikes', 'Books'] })).toEqual([{ path: ['category'], operator: 'in', operand: ['Bikes', 'Books'] }]);
  });

  it('reads an operator object as ANDed conditions, in order (docs vector)', () => {
    expect(parseFilter({ price: { gt: 5, lt: 10 } })).toEqual([
      { path: ['price'], operator: 'gt', operand: 5 },
      { path: ['price'], operator: 'lt', operand: 10 },
    ]);
  });

  it('accepts every operator with its operand types', () => {
    const filter = {
      a: { eq: 'x', neq: null, gte: 'm', lte: 9.5 },
      b: { exists: false, in: [1, 2.5], startsWith: '5%', endsWith: '_', contains: '' },
      c: { in: [true, false], eq: false, gt: -1, lt: 'z' },
    };
    expect(parseFilter(filter).map((c) => [c.path.join('.'), c.operator, c.operand])).toEqual([
      ['a', 'eq', 'x'],
      ['a', 'neq', null],
      ['a', 'gte', 'm'],
      ['a', 'lte', 9.5],
      ['b', 'exists', false],
      ['b', 'in', [1, 2.5]],
      ['b', 'startsWith', '5%'],
      ['b', 'endsWith', '_'],
      ['b', 'contains', ''],
      ['c', 'in', [true, false]],
      ['c', 'eq', false],
      ['c', 'gt', -1],
      ['c', 'lt', 'z'],
    ]);
  });

  it('accepts the legacy "ne" as neq, and the demo app\'s {"neq": null}', () => {
    expect(parseFilter({ x: { ne: 5 }, 'address.components.locality': { neq: null } })).toEqual([
      { path: ['x'], operator: 'neq', operand: 5 },
      { path: ['address', 'components', 'locality'], operator: 'neq', operand: null },
    ]);
  });

  it('accepts segments of 255 characters and paths that only start like id/timestamp', () => {
    const long = 'x'.repeat(255);
    expect(parseFilter({ [long]: 1, identifier: 1, 'customer.id': 1, timestamps: 1 }).map((c) => c.path)).toEqual([
      [long],
      ['identifier'],
      ['customer', 'id'],
      ['timestamps'],
    ]);
  });
});

describe('parseFilter errors (422)', () => {
  it.each<[unknown]>([['price > 5'], [5], [true], [['a']]])('rejects the non-object filter %j with field "filter"', (value) => {
    expect(errorsOf(() => parseFilter(value)).map((e) => e.field)).toEqual(['filter']);
  });

  it.each<[string, string]>([
    ['', 'non-empty names'],
    ['a..b', 'non-empty names'],
    ['.a', 'non-empty names'],
    ['a.', 'non-empty names'],
    ['x'.repeat(256), 'at most 255'],
    ['a.' + 'y'.repeat(256), 'at most 255'],
    ['a\u0000b', 'NUL'],
    ['a\ud800b', 'unpaired surrogates'],
    ['id', 'id cannot be queried'],
    ['id.x', 'id cannot be queried'],
    ['timestamp', 'use "timeframe"'],
  ])('rejects the path %j with field "filter.<path>"', (path, description) => {
    expect(errorsOf(() => parseFilter({ [path]: 1 }))).toEqual([
      { field: `filter.${path}`, description: expect.stringContaining(description) },
    ]);
  });

  it('rejects an unknown operator, listing the accepted ones', () => {
    expect(errorsOf(() => parseFilter({ price: { foo: 1 } }))).toEqual([
      {
        field: 'filter.price.foo',
        description:
          "Unknown filter operator 'foo'; expected one of eq, neq, gt, gte, lt, lte, exists, in, startsWith, endsWith, contains.",
      },
    ]);
  });

  it('rejects the docs typo "endsWidth" and wrong case', () => {
    expect(errorsOf(() => parseFilter({ a: { endsWidth: 'x', StartsWith: 'y', EQ: 1 } })).map((e) => e.field)).toEqual([
      'filter.a.endsWidth',
      'filter.a.StartsWith',
      'filter.a.EQ',
    ]);
  });

  it('rejects an empty operator object and a nested object value', () => {
    expect(errorsOf(() => parseFilter({ a: {}, customer: { firstName: 'Tom' } })).map((e) => e.field)).toEqual([
      'filter.a',
      'filter.customer.firstName',
    ]);
  });

  it.each<[string, unknown]>([
    ['eq', { a: 1 }],
    ['eq', [1]],
    ['eq', Infinity],
    ['eq', NaN],
    ['eq', 'nul\u0000'],
    ['eq', 'lone\ud800'],
    ['neq', '\udc00'],
    ['in', ['\ud800']],
    ['startsWith', '\ud800'],
    ['gt', '\ud800'],
    ['neq', { a: 1 }],
    ['gt', true],
    ['gt', null],
    ['gte', [1]],
    ['lt', { a: 1 }],
    ['lte', -Infinity],
    ['exists', 'true'],
    ['exists', 1],
    ['exists', null],
    ['in', []],
    ['in', 'Bikes'],
    ['in', ['a', 1]],
    ['in', [1, true]],
    ['in', [null]],
    ['in', [['a']]],
    ['in', [{ a: 1 }]],
    ['in', [1, NaN]],
    ['startsWith', 5],
    ['startsWith', null],
    ['endsWith', ['a']],
    ['contains', true],
    ['contains', 'a\u0000'],
  ])('rejects %s with operand %j, field "filter.x.<op>"', (operator, operand) => {
    expect(errorsOf(() => parseFilter({ x: { [operator]: operand } }))).toEqual([
      { field: `filter.x.${operator}`, description: expect.stringMatching(/^Expected /) },
    ]);
  });

  it('rejects shorthand values of the wrong type with field "filter.<path>"', () => {
    expect(errorsOf(() => parseFilter({ a: [], b: ['x', 2], c: Infinity })).map((e) => e.field)).toEqual([
      'filter.a',
      'filter.b',
      'filter.c',
    ]);
  });

  it('collects every error of every property in one ValidationError', () => {
    const errors = errorsOf(() => parseFilter({ id: 1, price: { gt: 'x', lt: true, foo: 1 }, ok: 1, tags: { in: [] } }));
    expect(errors.map((e) => e.field)).toEqual(['filter.id', 'filter.price.lt', 'filter.price.foo', 'filter.tags.in']);
  });
});

describe('parseFilter: caps (QUERY_MAX_FILTER_CONDITIONS, QUERY_MAX_IN_VALUES)', () => {
  const limits = { maxFilterConditions: 3, maxInValues: 2, maxDocumentChars: 16_384 };

  it('counts every operator of every path, and each shorthand, as one condition', () => {
    expect(parseFilter({ a: 1, b: [1, 2], c: { gt: 1 } }, limits)).toHaveLength(3);
    expect(errorsOf(() => parseFilter({ a: 1, c: { gt: 1, lt: 5, neq: 3 } }, limits))).toEqual([
      { field: 'filter', description: 'A filter can have at most 3 conditions (property paths × operators); this one has 4.' },
    ]);
  });

  it('refuses the 1,000-condition filter with the default cap of 100, before looking at any condition', () => {
    const filter = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [i === 0 ? 'id' : `p${i}`, { neq: i }]));
    expect(errorsOf(() => parseFilter(filter))).toEqual([
      { field: 'filter', description: 'A filter can have at most 100 conditions (property paths × operators); this one has 1,000.' },
    ]);
  });

  it('refuses an in list over the cap, in either spelling, naming its field', () => {
    expect(parseFilter({ a: { in: [1, 2] } }, limits)).toHaveLength(1);
    expect(errorsOf(() => parseFilter({ a: { in: [1, 2, 3] }, b: ['x', 'y', 'z'] }, limits))).toEqual([
      { field: 'filter.a.in', description: 'An in list can have at most 2 values; this one has 3.' },
      { field: 'filter.b', description: 'An in list can have at most 2 values; this one has 3.' },
    ]);
    expect(errorsOf(() => parseFilter({ a: { in: Array.from({ length: 1_001 }, (_, i) => i) } }))).toEqual([
      { field: 'filter.a.in', description: 'An in list can have at most 1,000 values; this one has 1,001.' },
    ]);
  });

  it.each(['constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf'])(
    'takes %s as an ordinary property path and an unknown operator',
    (name) => {
      expect(parseFilter({ [name]: 'x', [`a.${name}`]: { eq: 1 } })).toEqual([
        { path: [name], operator: 'eq', operand: 'x' },
        { path: ['a', name], operator: 'eq', operand: 1 },
      ]);
      expect(errorsOf(() => parseFilter({ price: { gt: 100, [name]: 1 } }))).toEqual([
        { field: `filter.price.${name}`, description: expect.stringMatching(/^Unknown filter operator/) },
      ]);
    },
  );

  it('refuses __proto__ in a path, as pushes and JSON bodies do', () => {
    expect(errorsOf(() => parseFilter(JSON.parse('{"__proto__": 1, "a.__proto__.b": 2}')))).toEqual([
      { field: 'filter.__proto__', description: '__proto__ cannot be used as a property name.' },
      { field: 'filter.a.__proto__.b', description: '__proto__ cannot be used as a property name.' },
    ]);
  });
});

describe('filtered keys: parseFilter(…, reserved) and combineFilters (docs/keys.md)', () => {
  const limits = { maxFilterConditions: 3, maxInValues: 2, maxDocumentChars: 16_384 };
  const key: FilterCondition[] = [{ path: ['tenant'], operator: 'eq', operand: 'acme' }];

  it("counts the key's conditions toward the cap, saying so", () => {
    expect(parseFilter({ a: 1, b: 2 }, limits, 1)).toHaveLength(2);
    expect(errorsOf(() => parseFilter({ a: 1, b: 2, c: 3 }, limits, 1))).toEqual([
      {
        field: 'filter',
        description:
          'A filter can have at most 3 conditions (property paths × operators), the 1 of this filtered API key included; ' +
          'this one has 3 more.',
      },
    ]);
  });

  it("ANDs the key's conditions first, the request's after, also on the same path (which can only narrow)", () => {
    const own = parseFilter({ tenant: 'other', price: { gt: 5 } });
    expect(combineFilters(key, own)).toEqual([
      { path: ['tenant'], operator: 'eq', operand: 'acme' },
      { path: ['tenant'], operator: 'eq', operand: 'other' },
      { path: ['price'], operator: 'gt', operand: 5 },
    ]);
    expect(combineFilters([], own)).toEqual(own);
    expect(combineFilters(key, [])).toEqual(key);
  });

  it("drops a request condition identical to one of the key's (numbers by value, exact ones by their digits)", () => {
    const exact: FilterCondition[] = [{ path: ['n'], operator: 'gte', operand: new ExactNumber('12345678901234567890') }];
    const repeated = parseFilter({ tenant: 'acme', n: { gte: new ExactNumber('12345678901234567890') } });
    expect(combineFilters([...key, ...exact], repeated)).toEqual([...key, ...exact]);
    expect(combineFilters(exact, parseFilter({ n: { gte: new ExactNumber('12345678901234567891') } }))).toHaveLength(2);
    expect(combineFilters(key, parseFilter({ tenant: { neq: 'acme' } }))).toHaveLength(2);
    expect(combineFilters(key, parseFilter({ tenant: ['acme'] }))).toHaveLength(2);
  });
});
