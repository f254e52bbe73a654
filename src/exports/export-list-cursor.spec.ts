import { ValidationError } from '../common';
import { decodeExportCursor, encodeExportCursor } from './exports.service';

describe('GET /exports cursor', () => {
  const position = { createdAt: '2026-03-01T12:00:00.000014Z', id: '55b80dd4eb6742481c62c05e' };

  it('round-trips a position to the microsecond, as URL-safe text', () => {
    const cursor = encodeExportCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeExportCursor(cursor)).toEqual(position);
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['empty', ''],
    ['no id', Buffer.from('2026-03-01T12:00:00.000014Z').toString('base64url')],
    ['milliseconds only', Buffer.from('2026-03-01T12:00:00.000Z,55b80dd4eb6742481c62c05e').toString('base64url')],
    ['an impossible date', Buffer.from('2026-02-30T12:00:00.000000Z,55b80dd4eb6742481c62c05e').toString('base64url')],
    ['an impossible hour', Buffer.from('2026-03-01T25:00:00.000000Z,55b80dd4eb6742481c62c05e').toString('base64url')],
    ['an upper-case id', Buffer.from('2026-03-01T12:00:00.000000Z,55B80DD4EB6742481C62C05E').toString('base64url')],
    ['an extra part', Buffer.from('2026-03-01T12:00:00.000000Z,55b80dd4eb6742481c62c05e,x').toString('base64url')],
  ])('refuses %s with a 422 on cursor', (_label, cursor) => {
    let thrown: unknown;
    try {
      decodeExportCursor(cursor);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).errors).toEqual([{ field: 'cursor', description: expect.any(String) }]);
  });
});
