import {
  BadRequestError,
  doublesWhereExact,
  exactNumberProblem,
  FieldError,
  isExactNumber,
  isStorableText,
  parseIsoInstant,
  PayloadTooLargeError,
  stringifyJson,
  ValidationError,
} from '../common';

/** Largest event, in bytes of its compact JSON (Connect docs, "Pushing events": "Maximum event size of 64kb"). */
export const MAX_EVENT_BYTES = 64 * 1024;
/** Longest property name, in characters (Connect docs, "Pushing events"). */
export const MAX_PROPERTY_NAME_LENGTH = 255;
/** Deepest nesting of objects and arrays in an event. */
export const MAX_EVENT_DEPTH = 64;

export const EVENT_TOO_LARGE_MESSAGE = 'Maximum event size of 64kb exceeded.';
export const RESERVED_TP_MESSAGE = 'Property names starting with tp_ are reserved and cannot be set.';
export const RESERVED_ID_MESSAGE = 'The property name _id is reserved and cannot be set.';

/** An event ready to store: `properties` is the event as pushed without `id` and `timestamp`. */
export interface ValidEvent {
  /** The caller's id (string or number, kept as pushed) or a generated UUID v4. */
  eventId: string | number;
  /** UTC, millisecond precision. */
  timestamp: Date;
  properties: Record<string, unknown>;
  /**
   * Whether `properties` holds ExactNumbers (json-text.ts: numbers a double would not reproduce),
   * so it must be written with `stringifyJson` rather than `JSON.stringify`.
   */
  hasExactNumbers: boolean;
}

/** What the walk over an event finds besides errors. */
interface Walk {
  errors: FieldError[];
  exactNumbers: boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);

/**
 * Checks names and values at every depth (Connect docs, "Pushing events"). Recursion stops one level past
 * MAX_EVENT_DEPTH, so its depth is bounded whatever the input; field paths are only built for
 * containers and errors, which keeps the common case (a valid event) cheap.
 */
/** `level`: how deep `value` sits if it is an object or array (the event itself is level 1). */
function checkValue(value: unknown, path: string, level: number, walk: Walk): void {
  const errors = walk.errors;
  if (errors.length >= 20) {
    return;
  }
  if (typeof value === 'string') {
    if (!isStorableText(value)) {
      errors.push({ field: path, description: 'Strings cannot contain NUL characters or unpaired surrogates.' });
    }
  } else if (typeof value === 'number') {
    // JSON.parse turns 1e400 into Infinity, which JSON cannot represent: refuse rather than store null.
    if (!Number.isFinite(value)) {
      errors.push({ field: path, description: 'Numbers must be finite (at most about 1.8e308).' });
    }
  } else if (isExactNumber(value)) {
    walk.exactNumbers = true;
    const problem = exactNumberProblem(value);
    if (problem) errors.push({ field: path, description: problem });
  } else if (typeof value === 'object' && value !== null) {
    if (level > MAX_EVENT_DEPTH) {
      errors.push({ field: path, description: `Events cannot be nested more than ${MAX_EVENT_DEPTH} levels deep.` });
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        checkValue(value[i], `${path}[${i}]`, level + 1, walk);
      }
    } else {
      checkObject(value as Record<string, unknown>, path, level, walk);
    }
  }
}

function checkObject(object: Record<string, unknown>, path: string, level: number, walk: Walk): void {
  const errors = walk.errors;
  for (const name in object) {
    const problem =
      name.length === 0
        ? 'Property names cannot be empty.'
        : name.includes('.')
          ? "Property names cannot contain '.'."
          : name.length > MAX_PROPERTY_NAME_LENGTH
            ? `Property names must be at most ${MAX_PROPERTY_NAME_LENGTH} characters.`
            : name === '__proto__'
              ? 'The property name __proto__ is reserved.'
              : !isStorableText(name)
                ? 'Property names cannot contain NUL characters or unpaired surrogates.'
                : null;
    if (problem) {
      errors.push({ field: join(path, name).slice(0, 300), description: problem });
    }
    const child = object[name];
    if (typeof child === 'object' && child !== null) {
      checkValue(child, join(path, name), level + 1, walk);
    } else if (typeof child === 'string' || typeof child === 'number') {
      if ((typeof child === 'string' && !isStorableText(child)) || (typeof child === 'number' && !Number.isFinite(child))) {
        checkValue(child, join(path, name), level + 1, walk);
      }
    }
  }
}

/**
 * Validates one event against the rules of Connect docs, "Pushing events" and splits off `id` and `timestamp`.
 * @param now the default timestamp (UTC) for an event without one.
 * @throws BadRequestError (400) for a body that is not an object, a root `tp_…` or `_id` property;
 *         PayloadTooLargeError (413) over 64 KB; ValidationError (422) with one entry per bad field.
 */
export function validateEvent(raw: unknown, now: Date, newId: () => string): ValidEvent {
  if (!isPlainObject(raw)) {
    throw new BadRequestError('An event must be a JSON object.');
  }
  const walk: Walk = { errors: [], exactNumbers: false };
  const { id, timestamp, ...properties } = raw;
  checkObject(properties, '', 1, walk);
  // JSON.stringify writes an ExactNumber as an object, longer than its digits: when that
  // over-estimate passes, the event does; otherwise measure the text that will be stored.
  const mayHoldExact = walk.exactNumbers || isExactNumber(id);
  if (
    Buffer.byteLength(JSON.stringify(raw), 'utf8') > MAX_EVENT_BYTES &&
    (!mayHoldExact || Buffer.byteLength(stringifyJson(raw), 'utf8') > MAX_EVENT_BYTES)
  ) {
    throw new PayloadTooLargeError(EVENT_TOO_LARGE_MESSAGE);
  }
  for (const name of Object.keys(properties)) {
    if (name.toLowerCase().startsWith('tp_')) {
      throw new BadRequestError(RESERVED_TP_MESSAGE);
    }
    if (name === '_id') {
      throw new BadRequestError(RESERVED_ID_MESSAGE);
    }
  }
  const errors: FieldError[] = [];
  let eventId: string | number = '';
  if (id === undefined || id === null) {
    eventId = newId();
  } else if (typeof id === 'string' && id.length > 0 && id.length <= 255 && isStorableText(id)) {
    eventId = id;
  } else if (typeof id === 'number' && Number.isSafeInteger(id)) {
    eventId = id;
  } else if (isExactNumber(id) && Number.isSafeInteger(doublesWhereExact(id))) {
    eventId = doublesWhereExact(id) as number; // `7.0`, `1e2`: the integers 7 and 100, as JSON.parse reads them
  } else {
    // Ids must be exact doubles: clients (and Connect) read them as JavaScript numbers, so two
    // different ids beyond 2^53 would look the same to them.
    errors.push({
      field: 'id',
      description: 'The id must be a non-empty string of at most 255 characters, or an integer of at most 2^53 - 1 in magnitude.',
    });
  }
  let instant: Date | null = now;
  if (timestamp !== undefined && timestamp !== null) {
    instant = typeof timestamp === 'string' ? parseIsoInstant(timestamp) : null;
    if (instant === null) {
      errors.push({ field: 'timestamp', description: 'The timestamp must be an ISO-8601 date-time, e.g. 2015-02-05T14:55:56.587Z.' });
    }
  }
  errors.push(...walk.errors);
  if (errors.length > 0) {
    throw new ValidationError(errors);
  }
  return { eventId, timestamp: instant!, properties, hasExactNumbers: walk.exactNumbers };
}
