import JSON5 from 'json5';
import { firstInexactRelaxedNumber } from './relaxed-numbers';

describe('firstInexactRelaxedNumber', () => {
  it.each([
    ['{filter:{v:12345678901234567890}}', '12345678901234567890'],
    ['{filter:{v:{in:[1, 9007199254740993]}}}', '9007199254740993'],
    ['{filter:{v:-9007199254740993}}', '-9007199254740993'],
    ['{filter:{v:+9007199254740993}}', '+9007199254740993'],
    ['{filter:{v:0.1000000000000000055511151231257827}}', '0.1000000000000000055511151231257827'],
    ['{filter:{v:1e-400}}', '1e-400'],
    ['{filter:{v:0x20000000000001}}', '0x20000000000001'],
    ["{filter:{'a b':'x', v:12345678901234567890,}}", '12345678901234567890'],
  ])('finds the number a double would change in %s', (text, token) => {
    JSON5.parse(text); // valid relaxed JSON
    expect(firstInexactRelaxedNumber(text)).toBe(token);
  });

  it.each([
    '{filter:{v:12345}}',
    '{filter:{v:1.50, w:.5, x:5., y:+1, z:-0.25e-3}}',
    '{filter:{v:9007199254740992, w:0x1F, h:-0xff}}',
    '{timezone:10.5, timeframe:"this_14_days"}',
    // digits inside strings, comments and unquoted keys are not numbers
    '{filter:{id:\'12345678901234567890\', n:"9007199254740993"}}',
    '{filter:{v:1} /* 12345678901234567890 */ }',
    '{filter:{v:1} // 9007199254740993\n}',
    '{filter:{a12345678901234567890:1, $9007199254740993:2, _1e400:3}}',
    "{filter:{s:'it\\'s 12345678901234567890'}}",
    // beyond the double range: left to the filter, which refuses non-finite numbers by field
    '{filter:{v:1e400, w:Infinity, x:-Infinity, y:NaN}}',
  ])('finds none in %s', (text) => {
    JSON5.parse(text);
    expect(firstInexactRelaxedNumber(text)).toBeNull();
  });
});
