import { ValidationError } from './errors';

/**
 * A position in a list ordered by (created_at DESC, id DESC): created_at in UTC to the microsecond
 * (`2026-01-02T03:04:05.123456Z`; JavaScript dates keep only milliseconds), and the row's 24-hex id.
 */
export interface KeysetPosition {
  createdAt: string;
  id: string;
}

const ROW_ID = /^[0-9a-f]{24}$/;
/** created_at as a cursor carries it: UTC, microseconds. */
const CURSOR_INSTANT = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z$/;

/** The opaque `next` cursor of a keyset-paginated list (GET /exports, GET /projects): base64url of `<created_at with µs>,<id>`. */
export function encodeKeysetCursor(position: KeysetPosition): string {
  return Buffer.from(`${position.createdAt},${position.id}`, 'utf8').toString('base64url');
}

/**
 * Reads a cursor of `encodeKeysetCursor`.
 * @param list the endpoint, for the error (`GET /exports`).
 * @throws ValidationError (422, field `cursor`) for anything else.
 */
export function decodeKeysetCursor(cursor: string, list: string): KeysetPosition {
  const invalid = () => ValidationError.of('cursor', `cursor must be the \`next\` value of an earlier ${list} answer.`);
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) {
    throw invalid();
  }
  const [createdAt, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(',');
  const instant = CURSOR_INSTANT.exec(createdAt ?? '');
  if (rest.length > 0 || !instant || !ROW_ID.test(id ?? '')) {
    throw invalid();
  }
  // A real calendar instant (no 2026-02-30T25:…), so PostgreSQL never refuses it.
  const ms = Date.parse(`${createdAt.slice(0, 23)}Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== createdAt.slice(0, 19)) {
    throw invalid();
  }
  return { createdAt, id };
}
