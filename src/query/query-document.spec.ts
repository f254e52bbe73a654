import { ExactNumber, ValidationError } from '../common';
import { errorsOf } from '../../test/support/validation-errors';
import { parseQueryBody, parseQueryParam } from './query-document';

describe('parseQueryParam', () => {
  it('returns {} for a missing, empty or blank parameter', () => {
    expect(parseQueryParam(undefined)).toEqual({});
    expect(parseQueryParam('')).toEqual({});
    expect(parseQueryParam('  ')).toEqual({});
  });

  it('parses strict JSON', () => {
    expect(parseQueryParam('{"select":{"Test":{"sum":"Url Encoding"}}}')).toEqual({ select: { Test: { sum: 'Url Encoding' } } });
    expect(parseQueryParam('{}')).toEqual({});
  });

  it("parses the relaxed JSON of Connect's docs (unquoted keys, single quotes)", () => {
    expect(parseQueryParam("{select:{totalPrice:{sum:'price'}}}")).toEqual({ select: { totalPrice: { sum: 'price' } } });
    expect(parseQueryParam('{ filter: { price: { gt: 5, }, }, }')).toEqual({ filter: { price: { gt: 5 } } });
  });

  it.each(['{select:', 'select=count', '{"a":1}}', '[{"select":{}}]', '"text"', '42', 'null', 'true'])(
    "rejects %j with Connect's exact 422 error",
    (raw) => {
      let caught: unknown;
      try {
        parseQueryParam(raw);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).errors).toEqual([{ field: 'query', description: 'The query JSON supplied is not valid.' }]);
    },
  );
});

describe('query document size (QUERY_MAX_DOCUMENT_CHARS)', () => {
  const tooLong = (length: number, max: number) => [
    {
      field: 'query',
      description: `The query document is ${length.toLocaleString('en-US')} characters long; at most ${max.toLocaleString('en-US')} are allowed.`,
    },
  ];

  it('refuses a query parameter longer than the cap, before parsing it', () => {
    expect(parseQueryParam('{"a":1}', 7)).toEqual({ a: 1 });
    expect(errorsOf(() => parseQueryParam('{"a":12}', 7))).toEqual(tooLong(8, 7));
    expect(errorsOf(() => parseQueryParam(`{filter:{a:'${'x'.repeat(16_384)}'}}`))).toEqual(tooLong(16_399, 16_384));
  });

  it('measures a body query object as its compact JSON text (exact numbers by their digits), and returns the same object', () => {
    const query = { filter: { a: 1 } };
    expect(parseQueryBody(query, 18)).toBe(query);
    expect(errorsOf(() => parseQueryBody(query, 17))).toEqual(tooLong(18, 17));
    expect(errorsOf(() => parseQueryBody({ filter: { a: new ExactNumber('12345678901234567890') } }, 20))).toEqual(tooLong(37, 20));
  });

  it('parses a body query string as the parameter, and takes null or absent as {}', () => {
    expect(parseQueryBody("{filter:{toString:'x'}}")).toEqual({ filter: { toString: 'x' } });
    expect(errorsOf(() => parseQueryBody('{"a":12}', 7))).toEqual(tooLong(8, 7));
    expect(parseQueryBody(undefined)).toEqual({});
    expect(parseQueryBody(null)).toEqual({});
    expect(errorsOf(() => parseQueryBody([1]))).toEqual([{ field: 'query', description: 'The query JSON supplied is not valid.' }]);
  });
});
