/**
 * Collects positional parameters (`$1`, `$2`, …) for one SQL statement run through `pg`.
 * Every user-supplied value, property paths included, goes through `add`; nothing is spliced
 * into SQL text.
 */
export class SqlParams {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder, optionally with a cast (`$3::text[]`). */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    const placeholder = `$${this.values.length}`;
    return cast ? `${placeholder}::${cast}` : placeholder;
  }
}
