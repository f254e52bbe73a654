/**
 * Whether PostgreSQL can store a string in `text` and `jsonb`: no NUL character (U+0000) and no
 * unpaired UTF-16 surrogate (`"\ud800"` in JSON), both of which it rejects with an error.
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}
