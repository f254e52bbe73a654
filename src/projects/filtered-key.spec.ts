import { createCipheriv } from 'node:crypto';
import { encryptBlocks, makeFilteredKey } from '../../test/support/filtered-keys';
import { ExactNumber } from '../common';
import { decryptFilteredKey, isFilteredKeyForm, parseFilteredKeyDefinition, readFilteredKey } from './filtered-key';

const MASTER = '0123456789abcdef0123456789abcdef';
const OTHER_MASTER = 'fedcba9876543210fedcba9876543210';
const LIMITS = { maxFilterConditions: 3, maxInValues: 2, maxDocumentChars: 16_384 };

describe('isFilteredKeyForm', () => {
  it.each([
    ['0'.repeat(32), false],
    ['5D07A77D87D5B20FA5508303F748A43B-DD', true],
    ['5d07a77d87d5b20fa5508303f748a43b-', true],
    ['5D07A77D87D5B20FA5508303F748A43-DD', false],
    ['not-a-key', false],
  ])('%s → %s', (key, expected) => {
    expect(isFilteredKeyForm(key)).toBe(expected);
  });
});

describe('decryptFilteredKey', () => {
  const definition = { filters: { type: 'cycling' }, canQuery: true, canPush: true };

  it("decrypts upper- and lower-case keys to the definition's JSON", () => {
    for (const hexCase of ['upper', 'lower'] as const) {
      const key = makeFilteredKey(definition, MASTER, { case: hexCase });
      expect(key).toMatch(hexCase === 'upper' ? /^[0-9A-F]{32}-[0-9A-F]+$/ : /^[0-9a-f]{32}-[0-9a-f]+$/);
      expect(decryptFilteredKey(key, MASTER)).toBe(JSON.stringify(definition));
    }
  });

  it("decrypts a key of the Python SDK's example (connect-python examples/filtered_keys_example.py: a master key of 32 zeros)", () => {
    // What connect-python's encrypt_filtered_key makes: json.dumps (", " and ": " separators), PKCS#7, upper-case hex.
    const text = '{"filters": {"type": "cycling"}, "canQuery": true, "canPush": true}';
    const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const cipher = createCipheriv('aes-256-cbc', Buffer.from('0'.repeat(32)), iv);
    const key = `${iv.toString('hex')}-${Buffer.concat([cipher.update(text), cipher.final()]).toString('hex')}`.toUpperCase();
    expect(decryptFilteredKey(key, '0'.repeat(32))).toBe(text);
  });

  it.each([
    ['no hyphen', (key: string) => key.replace('-', '')],
    ['a non-hex character', (key: string) => `${key.slice(0, -1)}G`],
    ['an odd number of hex digits', (key: string) => key.slice(0, -1)],
    ['half a block', (key: string) => key.slice(0, -16)],
    ['no ciphertext', (key: string) => key.slice(0, 33)],
    ['a short IV', (key: string) => key.slice(2)],
    ['whitespace', (key: string) => `${key} `],
  ])('throws for %s', (_, mangle) => {
    expect(() => decryptFilteredKey(mangle(makeFilteredKey(definition, MASTER)), MASTER)).toThrow();
  });

  it('throws for another master key, or a master key that is not 32 bytes', () => {
    const key = makeFilteredKey(definition, MASTER);
    // A wrong key yields random bytes: the padding check fails, else (1 in ~256) the UTF-8 or JSON reading does.
    expect(readFilteredKey(key, OTHER_MASTER)).toBeNull();
    expect(() => decryptFilteredKey(key, MASTER.slice(0, 16))).toThrow();
  });

  it('throws for wrong PKCS#7 padding: a last byte of 0 or over 16, or padding bytes that differ', () => {
    const body = Buffer.from('{"canPush":true}'); // exactly 16 bytes
    const paddings = [
      Buffer.alloc(16, 0),
      Buffer.alloc(16, 17),
      Buffer.from([...Array(15).fill(16), 15]),
      Buffer.from([...Array(15).fill(1), 16]),
    ];
    for (const padding of paddings) {
      expect(() => decryptFilteredKey(encryptBlocks(Buffer.concat([body, padding]), MASTER), MASTER)).toThrow();
    }
    // The same plaintext with right padding decrypts.
    expect(decryptFilteredKey(encryptBlocks(Buffer.concat([body, Buffer.alloc(16, 16)]), MASTER), MASTER)).toBe('{"canPush":true}');
  });

  it('throws for a plaintext that is not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('{"canPush":true,"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const padded = Buffer.concat([bytes, Buffer.alloc(16 - (bytes.length % 16), 16 - (bytes.length % 16))]);
    expect(() => decryptFilteredKey(encryptBlocks(padded, MASTER), MASTER)).toThrow();
  });

  it('a tampered ciphertext never reads as the original definition', () => {
    const key = makeFilteredKey(definition, MASTER);
    // Flipping a bit of the IV flips the same bit of the first plaintext block (CBC): `{"filters"` becomes `{"filtevs"`.
    const iv = Buffer.from(key.slice(0, 32), 'hex');
    iv[8] ^= 0x04;
    const tampered = `${iv.toString('hex')}${key.slice(32)}`;
    expect(decryptFilteredKey(tampered, MASTER)).not.toBe(JSON.stringify(definition));
    expect(readFilteredKey(`${key.slice(0, 40)}${key[40] === '0' ? '1' : '0'}${key.slice(41)}`, MASTER)).toBeNull();
  });
});

describe('parseFilteredKeyDefinition', () => {
  it('reads canQuery, canPush and the filters in both forms', () => {
    const text = '{"filters": {"customerId": 1234, "price": {"gt": 5, "lte": 10}}, "canQuery": true, "canPush": false}';
    expect(parseFilteredKeyDefinition(text)).toEqual({
      canQuery: true,
      canPush: false,
      filters: [
        { path: ['customerId'], operator: 'eq', operand: 1234 },
        { path: ['price'], operator: 'gt', operand: 5 },
        { path: ['price'], operator: 'lte', operand: 10 },
      ],
    });
  });

  it("reads connect-net's `filter` (it serialises a query) and ignores the keys that do not narrow", () => {
    const text = '{"filter":{"Prop":{"eq":"MyProp"}},"select":{"n":"count"},"canPush":false,"canQuery":true}';
    expect(parseFilteredKeyDefinition(text)).toEqual({
      canQuery: true,
      canPush: false,
      filters: [{ path: ['Prop'], operator: 'eq', operand: 'MyProp' }],
    });
  });

  it('keeps every digit of numbers', () => {
    const { filters } = parseFilteredKeyDefinition('{"filters": {"order": 12345678901234567890, "n": 1.50}, "canQuery": true}');
    expect(filters).toEqual([
      { path: ['order'], operator: 'eq', operand: new ExactNumber('12345678901234567890') },
      { path: ['n'], operator: 'eq', operand: 1.5 },
    ]);
  });

  it.each([
    ['{"canPush": true, "filters": null}', false, true],
    ['{"canPush": true, "filters": []}', false, true], // PHP's json_encode of an empty array
    ['{"canPush": true, "canQuery": false}', false, true],
    ['{}', false, false],
  ])('%s: no filter, canQuery %s, canPush %s', (text, canQuery, canPush) => {
    expect(parseFilteredKeyDefinition(text)).toEqual({ canQuery, canPush, filters: [] });
  });

  it.each([
    '{"canQuery": true}',
    '{"canQuery": true, "filters": null}',
    '{"canQuery": true, "canPush": true, "filters": {}}',
    '{"canQuery": true, "filters": []}',
  ])('refuses a key that can query without a filter condition: %s', (text) => {
    expect(() => parseFilteredKeyDefinition(text)).toThrow(/at least one filter condition/);
  });

  it('ignores the filters (not even parsed) when canQuery is not true, as Connect documents', () => {
    expect(parseFilteredKeyDefinition('{"filters": {"type": {"nope": 1}}, "canQuery": false, "canPush": true}')).toEqual({
      canQuery: false,
      canPush: true,
      filters: [],
    });
  });

  it.each([
    ['not JSON', '{"canQuery": true'],
    ['JSON5 only', '{canQuery: true}'],
    ['an array', '[{"canQuery": true}]'],
    ['a string', '"canQuery"'],
    ['canQuery not a boolean', '{"canQuery": "true"}'],
    ['canPush not a boolean', '{"canPush": 1}'],
    ['filters not an object', '{"canQuery": true, "filters": "type=cycling"}'],
    ['a non-empty filters array', '{"canQuery": true, "filters": [{"type": "cycling"}]}'],
    ['an unknown operator', '{"canQuery": true, "filters": {"type": {"like": "c%"}}}'],
    ['a filter on id', '{"canQuery": true, "filters": {"id": "x"}}'],
    ['both filters and filter', '{"canQuery": true, "filters": {"a": 1}, "filter": {"b": 2}}'],
    ['a timeframe, which a key cannot enforce', '{"canQuery": true, "filters": {"a": 1}, "timeframe": "this_year"}'],
    ['more conditions than QUERY_MAX_FILTER_CONDITIONS', '{"canQuery": true, "filters": {"a": 1, "b": 2, "c": {"gt": 1, "lt": 5}}}'],
    ['an in list over QUERY_MAX_IN_VALUES', '{"canQuery": true, "filters": {"a": [1, 2, 3]}}'],
  ])('throws for %s', (_, text) => {
    expect(() => parseFilteredKeyDefinition(text, LIMITS)).toThrow();
  });

  it('allows a key up to the limits', () => {
    const text = '{"canQuery": true, "filters": {"a": [1, 2], "c": {"gt": 1, "lt": 5}}}';
    expect(parseFilteredKeyDefinition(text, LIMITS).filters).toHaveLength(3);
  });
});

describe('a key holder rewriting the plaintext (AES-CBC without a MAC, docs/keys.md "Security")', () => {
  /**
   * The key made of the blocks of `key` from plaintext block `j` on (0-based), that block's plaintext
   * (`known`) turned into `wanted` by choosing the IV: CBC lets anyone do this without the master key.
   */
  function rewrite(key: string, j: number, known: string, wanted: string): string {
    const blocks = [key.slice(0, 32), ...(key.slice(33).match(/.{32}/g) ?? [])].map((hex) => Buffer.from(hex, 'hex'));
    const iv = blocks[j].map((byte, i) => byte ^ known.charCodeAt(i) ^ wanted.charCodeAt(i));
    return `${Buffer.from(iv).toString('hex')}-${blocks
      .slice(j + 1)
      .map((b) => b.toString('hex'))
      .join('')}`.toUpperCase();
  }

  // connect-python's json.dumps; plaintext block 2 starts at `canQuery"`.
  const text = '{"filters": {"tenant": "abc"}, "canQuery": true, "canPush": false}';

  it('can drop the blocks before one and forge that one, but a key that can query without a filter is refused', () => {
    expect(text.slice(32, 48)).toBe('canQuery": true,');
    const key = makeFilteredKey(text, MASTER);
    expect(readFilteredKey(key, MASTER)?.filters).toEqual([{ path: ['tenant'], operator: 'eq', operand: 'abc' }]);
    const emptied = rewrite(key, 1, text.slice(16, 32), '{"filters":{}, "');
    expect(decryptFilteredKey(emptied, MASTER)).toBe('{"filters":{}, "canQuery": true, "canPush": false}');
    expect(readFilteredKey(emptied, MASTER)).toBeNull();
    const dropped = rewrite(key, 1, text.slice(16, 32), '{"tenant":"b", "');
    expect(decryptFilteredKey(dropped, MASTER)).toBe('{"tenant":"b", "canQuery": true, "canPush": false}');
    expect(readFilteredKey(dropped, MASTER)).toBeNull();
  });

  it('cannot fit a filter condition and the close of `filters` in 16 bytes: the shortest is 18', () => {
    expect('{"filter":{"a":0},'.length).toBe(18);
    const key = makeFilteredKey(text, MASTER);
    // What fits opens `filters` and leaves it open, swallowing canQuery: not JSON, or a key that cannot query.
    const swallowed = rewrite(key, 1, text.slice(16, 32), '{"filters":{"ab ');
    expect(decryptFilteredKey(swallowed, MASTER)).toBe('{"filters":{"ab canQuery": true, "canPush": false}');
    expect(readFilteredKey(swallowed, MASTER)).toBeNull();
  });
});

describe('readFilteredKey', () => {
  it('is the definition of a valid key, null for any failure', () => {
    const valid = makeFilteredKey({ filters: { type: 'cycling' }, canQuery: true }, MASTER, { case: 'lower' });
    expect(readFilteredKey(valid, MASTER)).toEqual({
      canQuery: true,
      canPush: false,
      filters: [{ path: ['type'], operator: 'eq', operand: 'cycling' }],
    });
    expect(readFilteredKey(makeFilteredKey('not json', MASTER), MASTER)).toBeNull();
    expect(readFilteredKey(makeFilteredKey({ canQuery: true, filters: { type: { bad: 1 } } }, MASTER), MASTER)).toBeNull();
    expect(readFilteredKey(valid.replace('-', '-zz'), MASTER)).toBeNull();
    expect(readFilteredKey(`${valid}${'0'.repeat(16 * 1024)}`, MASTER)).toBeNull();
  });
});
