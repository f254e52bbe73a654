import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ValidationError } from './errors';
import { hasControlCharacter, isStorableText } from './storable-text';

/** Longest collection name, in characters. */
export const MAX_COLLECTION_LENGTH = 255;

/** The `:collection` path parameter of every route that takes one, for `@ApiParam(COLLECTION_PARAM)` (openapi.json). */
export const COLLECTION_PARAM = {
  name: 'collection',
  description: `Collection name (1–${MAX_COLLECTION_LENGTH} characters, no control characters or '/'); '+' in the path means a space.`,
  example: 'purchases',
};

/**
 * Collection name rules (Connect docs, "HTTP API" documents none; these are ours): 1–255 characters, not
 * only white space, no control characters, no `/`. Anything else is allowed, spaces included
 * (Segment uses event names as collections).
 * @returns a description of the problem, or null when the name is valid.
 */
export function collectionNameProblem(name: string): string | null {
  if (name.length === 0 || name.trim().length === 0) {
    return 'Collection names cannot be empty.';
  }
  if ([...name].length > MAX_COLLECTION_LENGTH) {
    return `Collection names must be at most ${MAX_COLLECTION_LENGTH} characters.`;
  }
  if (hasControlCharacter(name) || name.includes('/') || !isStorableText(name)) {
    return "Collection names cannot contain control characters or '/'.";
  }
  return null;
}

/** @throws ValidationError (422, field `collection`) for an invalid name. */
export function assertCollectionName(name: string): string {
  const problem = collectionNameProblem(name);
  if (problem) {
    throw ValidationError.of('collection', problem);
  }
  return name;
}

/**
 * The `:collection` path segment, decoded the way Connect's .NET and Ruby SDKs encode it: `+` is a
 * space (`/events/my+coll` → `my coll`), `%2B` a plus (Connect docs, "HTTP API"). Express has already
 * percent-decoded `req.params`, which loses that distinction, so this reads the raw path.
 * @throws ValidationError (422, field `collection`) for an invalid name.
 */
export const CollectionParam = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const request = ctx.switchToHttp().getRequest<Request>();
  const segments = request.originalUrl.split('?')[0].split('/');
  const index = segments.findIndex((s) => /^(events|collections)$/i.test(s)); // routes match in any case
  const raw = segments[index + 1] ?? '';
  let name: string;
  try {
    name = decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw ValidationError.of('collection', 'The collection name is not correctly URL-encoded.');
  }
  return assertCollectionName(name);
});
