/**
 * The one place where the text of a JSON request body becomes a value. The body reader
 * (common/json-body.ts) has already checked size, encoding and nesting depth on the raw bytes.
 */

// Non-fatal (invalid bytes become U+FFFD, as body-parser's decoding did) and strips a UTF-8 BOM.
const utf8 = new TextDecoder('utf-8');

/**
 * Parses a request body: UTF-8 decode, then JSON.
 * @param raw the body's bytes, never empty (an empty body is `undefined` before this is called).
 * @returns the parsed value (any JSON type).
 * @throws SyntaxError (or another Error) when the text is not JSON; its `message` is shown to the
 *   client after "The request body is not valid JSON: ".
 */
export function parseJsonBody(raw: Buffer): unknown {
  return JSON.parse(utf8.decode(raw));
}
