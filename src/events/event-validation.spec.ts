import { errorsOf } from '../../test/support/validation-errors';
import { ExactNumber, parseJsonText, PayloadTooLargeError, stringifyJson } from '../common';
import { MAX_EVENT_BYTES, MAX_EVENT_DEPTH, validateEvent } from './event-validation';

const NOW = new Date('2026-01-01T00:00:00Z');
const validate = (raw: unknown) => validateEvent(raw, NOW, () => 'generated-id');

/** An event whose objects nest `levels` deep, the event itself being level 1. */
function nested(levels: number, viaArrays = false): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 1; i < levels; i++) value = viaArrays ? [value] : { a: value };
  return { a: value };
}

describe('validateEvent', () => {
  it('splits off id and timestamp, generating and defaulting them', () => {
    expect(validate({ id: 7, timestamp: '2015-02-05T14:55:56.587Z', x: { y: 1 } })).toEqual({
      eventId: 7,
      timestamp: new Date('2015-02-05T14:55:56.587Z'),
      properties: { x: { y: 1 } },
      hasExactNumbers: false,
    });
    expect(validate({ x: 1 })).toEqual({ eventId: 'generated-id', timestamp: NOW, properties: { x: 1 }, hasExactNumbers: false });
  });

  it.each([false, true])('allows nesting of exactly 64 levels and refuses 65 (through arrays: %s)', (viaArrays) => {
    expect(() => validate(nested(MAX_EVENT_DEPTH, viaArrays))).not.toThrow();
    expect(errorsOf(() => validate(nested(MAX_EVENT_DEPTH + 1, viaArrays)))).toEqual([
      { field: expect.stringMatching(/^a/), description: 'Events cannot be nested more than 64 levels deep.' },
    ]);
  });

  it('names the path of every bad property, in objects and arrays', () => {
    expect(errorsOf(() => validate({ list: [{ 'a.b': 1 }, 'ok', 'bad\u0000'], deep: { '': 1, n: Infinity } }))).toEqual(
      expect.arrayContaining([
        { field: 'list[0].a.b', description: "Property names cannot contain '.'." },
        { field: 'list[2]', description: 'Strings cannot contain NUL characters or unpaired surrogates.' },
        { field: 'deep.', description: 'Property names cannot be empty.' },
        { field: 'deep.n', description: 'Numbers must be finite (at most about 1.8e308).' },
      ]),
    );
  });

  it.each([1.5, 2 ** 53, -(2 ** 53), true, '', 'x'.repeat(256)])('refuses the id %p', (id) => {
    expect(errorsOf(() => validate({ id })).map((e) => e.field)).toEqual(['id']);
  });

  it('accepts ExactNumbers at any depth and says the event holds them', () => {
    const event = validate(parseJsonText('{"order_id": 12345678901234567890, "items": [{"price": 1.50}]}'));
    expect(event.hasExactNumbers).toBe(true);
    expect(event.properties.order_id).toEqual(new ExactNumber('12345678901234567890'));
  });

  it('refuses ExactNumbers beyond the double range or numeric scale, with their paths', () => {
    expect(errorsOf(() => validate(parseJsonText(`{"a": {"big": 1e400}, "list": [1e-400, 0.${'1'.repeat(16384)}]}`)))).toEqual([
      { field: 'a.big', description: 'Numbers must be finite (at most about 1.8e308).' },
      { field: 'list[0]', description: 'Numbers other than 0 must be at least about 5e-324 in magnitude.' },
      { field: 'list[1]', description: 'Numbers can have at most 16383 digits after the decimal point.' },
    ]);
  });

  it('keeps the id rule for exact ids: integers up to 2^53 - 1, `7.0` read as 7', () => {
    expect(validate(parseJsonText('{"id": 7.0}')).eventId).toBe(7);
    expect(validate(parseJsonText('{"id": 1e2}')).eventId).toBe(100);
    for (const id of ['9007199254740993', '12345678901234567890', '7.50', '9007199254740991.0000000001', '1e400']) {
      expect(errorsOf(() => validate(parseJsonText(`{"id": ${id}}`))).map((e) => e.field)).toEqual(['id']);
    }
  });

  it('measures the 64 KB limit on the digits of ExactNumbers, not on their object form', () => {
    const digits = '1'.repeat(40);
    const count = Math.floor((MAX_EVENT_BYTES - 10) / (digits.length + 1));
    const event = parseJsonText(`{"a":[${Array(count).fill(digits).join(',')}]}`);
    expect(stringifyJson(event).length).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(JSON.stringify(event).length).toBeGreaterThan(MAX_EVENT_BYTES);
    expect(validate(event).hasExactNumbers).toBe(true);
    const tooLarge = parseJsonText(
      `{"a":[${Array(count + 10)
        .fill(digits)
        .join(',')}]}`,
    );
    expect(() => validate(tooLarge)).toThrow(PayloadTooLargeError);
  });
});
