import { doubleReproduces } from '../common';

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentifierPart = (c: string): boolean => /[A-Za-z0-9$_\\]/.test(c) || c > '\x7f';
const LINE_END = /[\n\r\u2028\u2029]/;

/** The index just past the string literal (`"…"` or `'…'`) opening at `start`. */
function endOfString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** The index just past the comment (`// …` or `/* … *\/`) opening at `start`, or `start` when none opens there. */
function endOfComment(text: string, start: number): number {
  if (text[start + 1] === '/') {
    let i = start + 2;
    while (i < text.length && !LINE_END.test(text[i])) i++;
    return i;
  }
  if (text[start + 1] === '*') {
    const end = text.indexOf('*/', start + 2);
    return end === -1 ? text.length : end + 2;
  }
  return start;
}

/** A JSON5 decimal token (`+.5`, `5.`, `-1.5E3`) in JSON's grammar (`0.5`, `5`, `-1.5E3`). */
function asJsonNumber(token: string): string {
  return token
    .replace(/^\+/, '')
    .replace(/^(-?)\./, '$10.')
    .replace(/\.(?=[eE]|$)/, '');
}

const NUMBER = /[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/y;

/**
 * The first number of a relaxed-JSON (JSON5) document that its parser, which reads numbers as
 * doubles, would change (`12345678901234567890` read as `12345678901234567000`, `1e-400` as `0`),
 * or null when there is none (docs/query-language.md). Numbers beyond the double range
 * (`1e400`, `Infinity`, `NaN`) are not reported here: they parse as non-finite numbers, which the
 * filter refuses with their field. Strings, comments and unquoted keys are skipped.
 * @param text a document JSON5 has already parsed (on other text the answer is only a hint).
 */
export function firstInexactRelaxedNumber(text: string): string | null {
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i = endOfString(text, i);
    } else if (c === '/') {
      i = Math.max(endOfComment(text, i), i + 1);
    } else if (isDigit(c) || ((c === '.' || c === '+' || c === '-') && /[\d.]/.test(text[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const token = NUMBER.exec(text)?.[0] ?? c;
      i += token.length;
      const hex = /^([+-]?)0[xX]/.exec(token);
      if (hex) {
        const value = BigInt(token.slice(hex[1].length)) * (hex[1] === '-' ? -1n : 1n);
        const double = Number(value);
        if (Number.isFinite(double) && BigInt(double) !== value) return token;
      } else {
        const json = asJsonNumber(token);
        if (Number.isFinite(Number(json)) && !doubleReproduces(json)) return token;
      }
    } else if (isIdentifierPart(c)) {
      while (i < text.length && isIdentifierPart(text[i])) i++; // an unquoted key, Infinity, NaN, true…
    } else {
      i++;
    }
  }
  return null;
}
