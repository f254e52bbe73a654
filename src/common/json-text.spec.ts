import {
  doublesWhereExact,
  exactNumberProblem,
  hasExactNumbers,
  isExactNumber,
  ExactNumber,
  needsExactNumber,
  numericToJson,
  parseJsonBody,
  parseJsonText,
  stringifyJson,
} from './json-text';

describe('hasExactNumbers (the scan that picks the lossless path)', () => {
  it.each([
    ['{"order_id": 12345678901234567890}', 'a 20-digit integer'],
    ['{"a":9007199254740993}', '2^53 + 1'],
    ['[-0.1000000000000000055511151231257827]', 'a negative long decimal'],
    ['{"price": 1.50}', 'a fraction ending in 0'],
    ['{"n": 2.0, "s": "x"}', 'an integral fraction'],
    ['{"big": 1e400}', 'an exponent beyond the double range'],
    ['{"tiny": 1e-400}', 'an exponent below it'],
    ['{"e": 1E2}', 'an upper-case exponent'],
    ['{"e": 10e-1}', 'an exponent that gives numeric a scale (1.0)'],
    ['12345678901234567890', 'a number that is the whole text'],
    ['[1, 2, 12345678901234567890]', 'a number at the end of an array'],
    ['{"a": 12345678901234567890 }', 'a number followed by whitespace'],
    ['{"s": "say \\"", "n": 12345678901234567890}', 'a number after a string with an escaped quote'],
    ['{"s": "\\\\", "n": 12345678901234567890}', 'a number after a string ending in an escaped backslash'],
  ])('flags %s (%s)', (text) => {
    expect(hasExactNumbers(text)).toBe(true);
  });

  it.each([
    ['{"timestamp": "2015-02-05T14:55:56.587Z", "n": 5}', 'digits in an ISO timestamp string'],
    ['{"id": "12345678901234567890"}', 'a long numeric string'],
    ['{"hex": "deadbeef1e400cafe1234567890123456789"}', 'a hex id with e and digits'],
    ['{"s": "1.50 and 12345678901234567890 \\" 1.0"}', 'numbers inside a string with an escaped quote'],
    ['{"a": 34.95, "b": -12, "c": 0, "d": -0, "e": 0.5}', 'ordinary numbers'],
    ['{"r": 0.8444218515250481}', 'a 16-digit double as JSON.stringify writes it'],
    ['[9007199254740992, 9007199254740991, -9007199254740991]', '2^53 and 2^53 - 1 (exact doubles)'],
    ['{"p": 123456789012345}', '15 digits'],
    ['{"x": 100000000000000000000}', 'a long integer a double holds exactly'],
    ['{"x": 0.0000000000000001}', 'a long fraction a double holds exactly'],
    ['[true, false, null, "", {}, []]', 'no numbers'],
    ['', 'empty text'],
  ])('passes %s (%s)', (text) => {
    expect(hasExactNumbers(text)).toBe(false);
  });

  it('agrees with needsExactNumber on every token', () => {
    for (const token of ['1', '-1', '1.5', '1.50', '1e2', '12345678901234567890', '0.8444218515250481', '9007199254740993']) {
      expect(hasExactNumbers(`[${token}]`)).toBe(needsExactNumber(token));
      expect(hasExactNumbers(token)).toBe(needsExactNumber(token));
    }
  });
});

describe('parseJsonText / parseJsonBody', () => {
  it('keeps the digits of numbers a double would change, and only those', () => {
    const parsed = parseJsonText('{"order_id": 12345678901234567890, "n": 5, "p": 1.50, "s": "2015-02-05T14:55:56.587Z"}') as Record<
      string,
      unknown
    >;
    expect(parsed.order_id).toEqual(new ExactNumber('12345678901234567890'));
    expect(isExactNumber(parsed.p)).toBe(true);
    expect(parsed.n).toBe(5);
    expect(parsed.s).toBe('2015-02-05T14:55:56.587Z');
  });

  it('reads what JSON.parse reads otherwise', () => {
    const text = '{"a": [1, -2.5, true, null, {"b": "c\\u00e9"}], "d": 0.8444218515250481}';
    expect(parseJsonText(text)).toEqual(JSON.parse(text));
  });

  it('keeps the last of repeated keys and __proto__ as an own key, like JSON.parse, on the lossless path too', () => {
    const parsed = parseJsonText('{"a": 1, "a": 2, "__proto__": {"x": 1}, "n": 12345678901234567890}') as Record<string, unknown>;
    expect(parsed.a).toBe(2);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['a', '__proto__', 'n']);
  });

  it('throws a SyntaxError for invalid JSON on both paths', () => {
    expect(() => parseJsonText('{"a":')).toThrow(SyntaxError);
    expect(() => parseJsonText('{"a": 12345678901234567890,')).toThrow(SyntaxError);
    expect(() => parseJsonText('{"a": NaN}')).toThrow(SyntaxError);
    expect(() => parseJsonText('{"a": Infinity}')).toThrow(SyntaxError);
    expect(() => parseJsonText('{"a": 01}')).toThrow(SyntaxError);
  });

  it('reads a Buffer as UTF-8 and ignores a byte order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"é": 12345678901234567890}')]);
    expect(parseJsonBody(body)).toEqual({ é: new ExactNumber('12345678901234567890') });
  });
});

describe('stringifyJson', () => {
  it('writes ExactNumbers digit for digit, and the rest as JSON.stringify does', () => {
    const value = { a: new ExactNumber('12345678901234567890'), b: [1.5, 'x', null, { c: new ExactNumber('1.50') }] };
    expect(stringifyJson(value)).toBe('{"a":12345678901234567890,"b":[1.5,"x",null,{"c":1.50}]}');
    const plain = { a: 1, b: ['é', null, { c: true }] };
    expect(stringifyJson(plain)).toBe(JSON.stringify(plain));
  });
});

describe('exactNumberProblem', () => {
  it('accepts any number within the double range and numeric scale', () => {
    for (const token of ['12345678901234567890', '-0.1000000000000000055511151231257827', '1.50', '1e-300', `0.${'1'.repeat(16383)}`]) {
      expect(exactNumberProblem(new ExactNumber(token))).toBeNull();
    }
  });

  it('refuses numbers beyond the double range, below it, and beyond numeric scale', () => {
    expect(exactNumberProblem(new ExactNumber('1e400'))).toBe('Numbers must be finite (at most about 1.8e308).');
    expect(exactNumberProblem(new ExactNumber(`-2${'0'.repeat(308)}`))).toBe('Numbers must be finite (at most about 1.8e308).');
    expect(exactNumberProblem(new ExactNumber('1e-400'))).toMatch(/at least about 5e-324/);
    expect(exactNumberProblem(new ExactNumber(`0.${'1'.repeat(16384)}`))).toMatch(/at most 16383 digits after the decimal point/);
  });

  it('accepts zero in any spelling', () => {
    expect(exactNumberProblem(new ExactNumber('0e-400'))).toBeNull();
    expect(exactNumberProblem(new ExactNumber('0.000'))).toBeNull();
    expect(exactNumberProblem(new ExactNumber('0e100000'))).toBeNull();
  });

  it('refuses an exponent PostgreSQL cannot read, even on a zero', () => {
    expect(exactNumberProblem(new ExactNumber('0e99999999999'))).toBe('Exponents can be at most 100,000 in magnitude.');
    expect(exactNumberProblem(new ExactNumber('0e-100001'))).toBe('Exponents can be at most 100,000 in magnitude.');
  });
});

describe('doublesWhereExact', () => {
  it('turns ExactNumbers a double holds into doubles, in place, and keeps the others', () => {
    const doc = parseJsonText('{"timezone": 10.50, "filter": {"a": {"in": [1e2, 12345678901234567890]}, "__proto__": 2.0}}');
    expect(doublesWhereExact(doc)).toBe(doc);
    const filter = (doc as { filter: Record<string, unknown> }).filter;
    expect((doc as { timezone: unknown }).timezone).toBe(10.5);
    expect(filter.a).toEqual({ in: [100, new ExactNumber('12345678901234567890')] });
    expect(Object.getOwnPropertyDescriptor(filter, '__proto__')?.value).toBe(2);
    expect(doublesWhereExact(new ExactNumber('7.0'))).toBe(7);
  });
});

describe('numericToJson', () => {
  it('drops trailing zeros of the fraction and keeps every other digit', () => {
    expect(numericToJson('219.7300000000000000')).toBe(219.73);
    expect(numericToJson('3.00')).toBe(3);
    expect(numericToJson('100')).toBe(100);
    expect(numericToJson('24691357802469135780')).toEqual(new ExactNumber('24691357802469135780'));
    expect(numericToJson('-0.10000000000000000555')).toEqual(new ExactNumber('-0.10000000000000000555'));
  });
});
