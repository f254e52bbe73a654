import { inlineStatement } from './event-reader';

describe('inlineStatement', () => {
  it("writes each value as pg would send it, quoted by pg's escapeLiteral", () => {
    expect(
      inlineStatement({
        text: 'SELECT $1, $2::text[], $3::jsonb[], $4, $5::numeric, $10, $11',
        values: ["it's", ['a', 'b"c', 'd\\e'], ['{"k": 1}'], null, '12345678901234567890.5', 't10', 11, 'x', 'y', 'ten', 'eleven'],
      }),
    ).toBe(
      // escapeLiteral writes a string holding a backslash as E'…' (with a leading space).
      `SELECT 'it''s',  E'{"a","b\\\\"c","d\\\\\\\\e"}'::text[],  E'{"{\\\\"k\\\\": 1}"}'::jsonb[], NULL, ` +
        `'12345678901234567890.5'::numeric, 'ten', 'eleven'`,
    );
  });

  it('leaves no placeholder behind, also past $9', () => {
    const values = Array.from({ length: 12 }, (_, i) => `v${i + 1}`);
    const text = inlineStatement({ text: values.map((_, i) => `$${i + 1}`).join(','), values });
    expect(text).toBe(values.map((v) => `'${v}'`).join(','));
  });
});
