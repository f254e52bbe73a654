import { compareNumber, isLosslessNumber, LosslessNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';

/**
 * JSON text in and out without losing digits (docs/api.md, "Pushing events": numbers).
 *
 * PostgreSQL's `jsonb` stores numbers as `numeric`: every digit, and the trailing zeros of a fraction
 * (`1.50` stays `1.50`). `JSON.parse` reads them into doubles, which keep about 15–17 significant
 * digits. So a body is read with `JSON.parse` (the fast path) unless its text holds a number token
 * whose double would not be written back as PostgreSQL would read the token; then it is read with
 * lossless-json, which returns those tokens (and only those) as `ExactNumber` objects holding the
 * token's text. Everything downstream (validation, insert, filters, responses) accepts both kinds.
 */

/**
 * A number kept as its JSON text (`value`, e.g. `"12345678901234567890"`), because a double would
 * change it: a lossless-json LosslessNumber (its `isLosslessNumber`, `stringify` and `compareNumber`
 * apply) that can also be built without an argument (0): class-transformer, which the DTO pipe runs
 * over request bodies, rebuilds objects with `new value.constructor()` and then copies their
 * properties, and a LosslessNumber would throw there.
 */
export class ExactNumber extends LosslessNumber {
  constructor(value?: string) {
    super(value ?? '0');
  }
}

/** Whether `value` is a number kept as text by `parseJsonText` (or built by our code). */
export function isExactNumber(value: unknown): value is ExactNumber {
  return isLosslessNumber(value);
}

/** Whether `value` is a JSON number of either kind: a double or an ExactNumber. */
export function isJsonNumber(value: unknown): value is number | ExactNumber {
  return typeof value === 'number' || isLosslessNumber(value);
}

/** Most digits after the decimal point that PostgreSQL's `numeric` holds (its "value overflows numeric format"). */
export const MAX_NUMERIC_SCALE = 16383;
/** Largest exponent magnitude accepted (`0e100000`): well inside what PostgreSQL's numeric input reads. */
export const MAX_EXPONENT = 100_000;

/** Digits a double always reproduces exactly (DBL_DIG): a decimal with at most 15 is written back digit for digit. */
const SAFE_DIGITS = 15;

const ZERO = 0x30;
const NINE = 0x39;
const MINUS = 0x2d;
const DOT = 0x2e;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/**
 * Whether one JSON number token must be kept as text: `String(Number(token))` would not be what
 * PostgreSQL makes of the token. True for
 * - an exponent (`1e2`, `1.5E-7`): `numeric` derives its scale from the mantissa and exponent
 *   (`10e-1` is `1.0`), and `1e400` / `1e-400` leave the double range;
 * - a fraction ending in 0 (`1.50`, `2.0`): the double drops the trailing zeros, `numeric` keeps them;
 * - more than 15 digits whose double is not exactly the token's value (`9007199254740993`,
 *   `0.1000000000000000055511151231257827`); a 16–17 digit token a double reproduces, as
 *   `JSON.stringify` writes doubles, stays a double.
 * @param token a valid JSON number token (JSON grammar), e.g. `-12.50`.
 */
export function needsExactNumber(token: string): boolean {
  let digits = 0;
  let last = 0;
  let fraction = false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= ZERO && c <= NINE) {
      digits++;
      last = c;
    } else if (c === DOT) {
      fraction = true;
    } else if (c === LOWER_E || c === UPPER_E) {
      return true;
    }
  }
  if (fraction && last === ZERO) return true;
  return digits > SAFE_DIGITS && !doubleReproduces(token);
}

/**
 * Whether the double nearest to `token` (a JSON number token) is written back as the token's value
 * (`String(Number(token))`: `1.50` and `0.1` yes, `9007199254740993` and `1e400` no).
 */
export function doubleReproduces(token: string): boolean {
  const double = Number(token);
  return Number.isFinite(double) && compareNumber(token, String(double)) === 0;
}

/**
 * Whether JSON text holds a number token that `needsExactNumber` flags. One linear pass: strings are
 * skipped whole (so digits in ISO timestamps, hex ids or numeric strings never count), and outside
 * strings a digit or `-` starts a number token. The text is assumed to be JSON; on invalid text the
 * answer is only a hint (the parser then reports the error). False positives cost only speed.
 */
export function hasExactNumbers(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i);
    } else if ((c >= ZERO && c <= NINE) || c === MINUS) {
      let end = c === MINUS ? i + 1 : i;
      let digits = 0;
      let lastDigit = 0;
      let fraction = false;
      for (; end < n; end++) {
        const d = text.charCodeAt(end);
        if (d >= ZERO && d <= NINE) {
          digits++;
          lastDigit = d;
        } else if (d === DOT) {
          fraction = true;
        } else if (d === LOWER_E || d === UPPER_E) {
          return true;
        } else {
          break; // whitespace, `,`, `}`, `]`, the end of the text, or invalid JSON the parser will report
        }
      }
      if (fraction && lastDigit === ZERO) return true;
      if (digits > SAFE_DIGITS && !doubleReproduces(text.slice(i, end))) return true;
      i = end;
    } else {
      i++;
    }
  }
  return false;
}

/** The index just past the closing quote of the string opening at `start` (or the text's length). */
function endOfString(text: string, start: number): number {
  let quote = text.indexOf('"', start + 1);
  while (quote !== -1) {
    let backslashes = 0;
    for (let j = quote - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
  return text.length;
}

/** lossless-json's number hook: a double unless the token must be kept as text. */
function parseNumberToken(token: string): number | ExactNumber {
  return needsExactNumber(token) ? new ExactNumber(token) : Number(token);
}

/**
 * Parses JSON text like `JSON.parse`, but numbers a double cannot reproduce (see `needsExactNumber`)
 * become `ExactNumber`s holding their text. A repeated key keeps its last value and `__proto__`
 * is an ordinary own key, as with `JSON.parse`.
 * @throws SyntaxError for text that is not JSON (the message says what and where).
 */
export function parseJsonText(text: string): unknown {
  if (!hasExactNumbers(text)) return JSON.parse(text);
  return parseLossless(text, undefined, {
    parseNumber: parseNumberToken,
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/**
 * Parses a request body: UTF-8 JSON text (a leading byte order mark is ignored), any JSON value.
 * The body reader (json-body.middleware.ts) maps the error to 400 "The request body is not valid JSON: …".
 * @throws SyntaxError for a body that is not JSON.
 */
export function parseJsonBody(raw: Buffer): unknown {
  const start = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  return parseJsonText(raw.toString('utf8', start));
}

/**
 * JSON text of a value that may hold ExactNumbers (written as their digits), compact like
 * `JSON.stringify`, which writes it when the value holds none (lossless-json's writer is about 3×
 * slower). `exact`: whether the value holds ExactNumbers, when the caller knows; else it is looked up.
 */
export function stringifyJson(value: unknown, exact = containsExactNumber(value)): string {
  return exact ? (stringifyLossless(value) as string) : JSON.stringify(value);
}

/** Whether a parsed or built value holds an ExactNumber anywhere (iterative walk, stops at the first). */
export function containsExactNumber(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null) continue;
    if (isLosslessNumber(item)) return true;
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) stack.push(item[i]);
    } else {
      for (const key in item) stack.push((item as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/**
 * Why an ExactNumber cannot be stored, or null when it can. Stored numbers stay within the double
 * range that JSON clients can read (as `1e400` and its double Infinity are refused), and within
 * PostgreSQL's `numeric` (at most 16,383 digits after the decimal point).
 */
export function exactNumberProblem(value: ExactNumber): string | null {
  const text = value.value;
  const double = Number(text);
  if (!Number.isFinite(double)) return 'Numbers must be finite (at most about 1.8e308).';
  if (double === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''))) {
    return 'Numbers other than 0 must be at least about 5e-324 in magnitude.';
  }
  const match = /^-?\d+(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  const exponent = Number(match?.[2] ?? 0);
  // PostgreSQL cannot read an exponent past its int range, even on a zero (0e99999999999 overflows).
  if (Math.abs(exponent) > MAX_EXPONENT) return `Exponents can be at most ${MAX_EXPONENT.toLocaleString('en-US')} in magnitude.`;
  const scale = (match?.[1]?.length ?? 0) - exponent;
  if (scale > MAX_NUMERIC_SCALE) return `Numbers can have at most ${MAX_NUMERIC_SCALE} digits after the decimal point.`;
  return null;
}

/**
 * A numeric value as PostgreSQL writes it (`"24691357802469135780"`, `"219.7300000000000000"`) as a
 * JSON number for a response: trailing zeros of the fraction dropped (`219.73`, `3.00` → `3`),
 * a double when it reproduces the value, else an ExactNumber.
 */
export function numericToJson(text: string): number | ExactNumber {
  let trimmed = text;
  if (trimmed.includes('.')) trimmed = trimmed.replace(/0+$/, '').replace(/\.$/, '');
  if (trimmed === '-0') trimmed = '0';
  return needsExactNumber(trimmed) ? new ExactNumber(trimmed) : Number(trimmed);
}

/**
 * Turns the ExactNumbers of a parsed value whose value a double holds exactly (`1.50`, `1e2`) back
 * into doubles, in place; those whose value a double would change (`12345678901234567890`, `1e400`)
 * stay. For documents where a number's value matters but not its spelling (query documents: `1.50`
 * equals `1.5` in a filter, and a timezone of `10.50` is 10.5 hours). Iterative, so any nesting is safe.
 * @returns `value`, or its double when `value` itself is such an ExactNumber.
 */
export function doublesWhereExact(value: unknown): unknown {
  if (isExactNumber(value)) return doubleReproduces(value.value) ? Number(value.value) : value;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const container = stack.pop();
    if (typeof container !== 'object' || container === null || isExactNumber(container)) continue;
    const record = container as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (isExactNumber(child)) {
        if (doubleReproduces(child.value)) {
          // defineProperty: an own `__proto__` key is data here, never the prototype setter.
          Object.defineProperty(record, key, { value: Number(child.value), writable: true, enumerable: true, configurable: true });
        }
      } else if (typeof child === 'object' && child !== null) {
        stack.push(child);
      }
    }
  }
  return value;
}
