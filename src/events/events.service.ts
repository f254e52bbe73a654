import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BadRequestError, collectionNameProblem, ConnectError, PayloadTooLargeError, ValidationError } from '../common';
import { Metrics } from '../metrics';
import { ValidEvent, validateEvent } from './event-validation';
import { EventRow, EventWriter } from './event-writer';

/** Most events in one batch push (Connect docs, "Pushing events, batches"). */
export const MAX_BATCH_EVENTS = 5000;

/** Per-event outcome of a batch push, in request order (Connect docs, "Pushing events, batches"). */
export type PushResult = { success: true } | { success: false; message: string };

/** The batch response: for each collection of the request, one result per event. */
export type BatchPushResponse = Record<string, PushResult[]>;

function messageOf(error: ConnectError): string {
  return error instanceof ValidationError
    ? error.errors.map((e) => (e.field ? `${e.field}: ${e.description}` : e.description)).join(' ')
    : error.message;
}

/** One event checked for storage: the row to store, or why it cannot be stored (a batch result's `message`). */
export type PreparedEvent = { row: EventRow; error?: undefined } | { row?: undefined; error: string };

/**
 * Checks one event of a batch or an import line for storage: the same rules as a single push
 * (`validateEvent`), its id generated when absent.
 * @throws only errors that are not the event's fault.
 */
export function prepareEvent(collection: string, raw: unknown, now: Date): PreparedEvent {
  try {
    return { row: { collection, event: validateEvent(raw, now, randomUUID) } };
  } catch (error) {
    if (error instanceof ConnectError) {
      return { error: messageOf(error) };
    }
    throw error;
  }
}

/**
 * Pushing events (Connect docs, "Pushing events"): validation, id generation, de-duplication, storage.
 * Each event is counted in `events_pushed_total` (docs/monitoring.md) once its outcome is known:
 * accepted (stored), duplicate (its id was already stored) or rejected (invalid).
 */
@Injectable()
export class EventsService {
  constructor(
    private readonly events: EventWriter,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Stores one event; resolves once it is committed.
   * @throws the errors of `validateEvent` (400, 413, 422).
   */
  async pushOne(projectId: string, collection: string, body: unknown): Promise<void> {
    let event: ValidEvent;
    try {
      event = validateEvent(body, new Date(), randomUUID);
    } catch (error) {
      if (error instanceof ConnectError) this.metrics.pushed('rejected');
      throw error;
    }
    const stored = await this.events.insert(projectId, [{ collection, event }]);
    this.metrics.pushed(stored === 1 ? 'accepted' : 'duplicate');
  }

  /**
   * Stores the valid events of a batch in one statement and reports each event's outcome.
   * @throws BadRequestError (400) when the body is not `{collection: [events]}`,
   *         PayloadTooLargeError (413) over 5,000 events.
   */
  async pushBatch(projectId: string, body: unknown): Promise<BatchPushResponse> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestError('A batch must be a JSON object mapping collection names to arrays of events.');
    }
    const batch = body as Record<string, unknown>;
    let total = 0;
    for (const [collection, events] of Object.entries(batch)) {
      if (!Array.isArray(events)) {
        throw new BadRequestError(`The value of collection '${collection.slice(0, 100)}' must be an array of events.`);
      }
      total += events.length;
    }
    if (total > MAX_BATCH_EVENTS) {
      throw new PayloadTooLargeError(`Maximum batch size of ${MAX_BATCH_EVENTS} events exceeded (got ${total}).`);
    }
    const now = new Date();
    const rows: EventRow[] = [];
    const results = (Object.entries(batch) as Array<[string, unknown[]]>).map(([collection, events]) => {
      const collectionProblem = collectionNameProblem(collection);
      const outcomes = events.map((raw): PushResult => {
        if (collectionProblem) {
          return { success: false, message: collectionProblem };
        }
        const prepared = prepareEvent(collection, raw, now);
        if (prepared.row) {
          rows.push(prepared.row);
          return { success: true };
        }
        return { success: false, message: prepared.error };
      });
      return [collection, outcomes] as const;
    });
    const stored = await this.events.insert(projectId, rows);
    this.metrics.pushed('accepted', stored);
    this.metrics.pushed('duplicate', rows.length - stored);
    this.metrics.pushed('rejected', total - rows.length);
    // fromEntries defines own properties, so even a collection named __proto__ gets its results.
    return Object.fromEntries(results);
  }
}
