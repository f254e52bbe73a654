import { ValidationError } from '../common/errors';
import { parseQueryParam } from './query-document';

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
    'rejects %j with Connect\'s exact 422 error',
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
