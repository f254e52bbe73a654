/**
 * Whether PostgreSQL can store a string in `text` and `jsonb`: no NUL character (U+0000) and no
 * unpaired UTF-16 surrogate (`"\ud800"` in JSON), both of which it rejects with an error.
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

/** Whether a string holds a C0 control character (U+0000–U+001F) or DEL (U+007F). */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x1f || code === 0x7f) return true;
  }
  return false;
}
