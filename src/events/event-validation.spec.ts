import { errorsOf } from '../../test/support/validation-errors';
import { MAX_EVENT_DEPTH, validateEvent } from './event-validation';

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
    });
    expect(validate({ x: 1 })).toEqual({ eventId: 'generated-id', timestamp: NOW, properties: { x: 1 } });
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
});
