/** pg's internal parameter conversion (no published types): what pg sends for a bind parameter. */
declare module 'pg/lib/utils' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
