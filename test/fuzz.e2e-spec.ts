import { prng } from '../bench/lib/dataset';
import type { CreatedProject } from '../src/projects/projects.service';
import { auth, startTestApp, TestApp } from './support/test-app';

/**
 * A bounded, seeded fuzz run over loopback: a few thousand mutated pushes, batches, queries and
 * export bodies, some authenticated and some not. Whatever the input, the answer is a
 * deliberate one (never a 5xx but the documented 503 with Retry-After) in Connect's shapes, and
 * the service is healthy afterwards. The seed makes every run send the same requests; set
 * FUZZ_SEED to explore others and FUZZ_REQUESTS to send more.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);

const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];

/** Values chosen to hit edges: types, sizes, numbers JSON or doubles cannot hold, awkward text. */
const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  34.95,
  2 ** 53,
  -(2 ** 53) - 2,
  1e308,
  5e-324,
  '',
  ' ',
  'apple',
  '12 red roses',
  '\u0000',
  '\ud800',
  '\u202e',
  '😀',
  'x'.repeat(300),
  '%',
  '_',
  '\\',
  '"',
  '2015-07-28T00:00:30.295Z',
  'today',
  'this_month',
  'Australia/Brisbane',
  'Japan/Tokyo',
  '10.5',
  [],
  [1, 'a'],
  ['a', 'b'],
  [1, 2, 3],
  {},
  { eq: 1 },
  { gt: 'a' },
  { in: [] },
  { exists: 'yes' },
  { nope: 1 },
  { start: '2015-01-01T00:00:00Z', end: '2014-01-01T00:00:00Z' },
  { current: { days: -1 } },
  { previous: { weeks: 1e9 } },
];
/** Number tokens written as raw text (not representable as JS values, or not JSON at all). */
const RAW_NUMBERS: readonly string[] = [
  '12345678901234567890',
  '9007199254740993',
  '1e400',
  '-1e400',
  '1.50',
  '0.1000000000000000055511151231257827',
  'NaN',
  'Infinity',
  '01',
  '-',
  '1e',
  '.5',
];
const ODD_KEYS: readonly string[] = [
  'id',
  'timestamp',
  '_id',
  'tp_x',
  'TP_y',
  '',
  '.',
  'a..b',
  'a.b',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'select',
  'filter',
  'groupBy',
  'interval',
  'timezone',
  'timeframe',
  'query',
  's3Path',
  's3AccessKeyId',
  's3SecretAccessKey',
  'k'.repeat(300),
  '\u0000',
  '\ud800',
];

function oddValue(depth = 0): unknown {
  const roll = random();
  if (depth < 3 && roll < 0.1) return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(ODD_KEYS), oddValue(depth + 1)]));
  if (depth < 3 && roll < 0.15) return Array.from({ length: int(4) }, () => oddValue(depth + 1));
  return pick(ODD_VALUES);
}

/** Returns `value` with one random change somewhere: a key, a value, a deletion, an insertion. */
function mutate(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 4 || random() < 0.25) return oddValue();
  if (Array.isArray(value)) {
    const copy = [...value];
    if (copy.length > 0 && random() < 0.7) copy[int(copy.length)] = mutate(copy[int(copy.length)], depth + 1);
    else copy.push(oddValue());
    return copy;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const roll = random();
  if (keys.length > 0 && roll < 0.5) {
    const key = pick(keys);
    copy[key] = mutate(copy[key], depth + 1);
  } else if (keys.length > 0 && roll < 0.65) {
    delete copy[pick(keys)];
  } else {
    copy[pick(ODD_KEYS)] = oddValue();
  }
  return copy;
}

/** Serialises, then sometimes damages the text itself: raw numbers, truncation, stray bytes, deep nesting. */
function toText(value: unknown): string {
  let text = JSON.stringify(value) ?? 'null';
  const roll = random();
  if (roll < 0.1) text = text.replace(/-?\d+(\.\d+)?/, pick(RAW_NUMBERS));
  else if (roll < 0.15) text = text.slice(0, int(text.length + 1));
  else if (roll < 0.18) text = `${text}${pick(['}', ']', ',', '\u0000', ' x'])}`;
  else if (roll < 0.2) text = `${'['.repeat(150)}${']'.repeat(150)}`;
  else if (roll < 0.22) text = `{a:1, 'b': "c",}`;
  return text;
}

/**
 * A filter of up to 40,000 short conditions, or an `in` list of up to 100,000 values: beyond
 * PostgreSQL's 32,767 bind parameters if each became one.
 */
function hugeFilter(): Record<string, unknown> {
  if (random() < 0.5) return { n: { in: Array.from({ length: 1 + int(100_000) }, () => 1) } };
  const filter: Record<string, unknown> = {};
  const conditions = 1 + int(40_000);
  for (let i = 0; i < conditions; i++) filter[i.toString(36)] = 1;
  return filter;
}

const VALID_EVENT = {
  customer: { firstName: 'Tom', lastName: 'Smith' },
  product: '12 red roses',
  purchasePrice: 34.95,
  id: 'e1',
  timestamp: '2015-07-28T00:00:30.295Z',
};
const VALID_QUERY = {
  select: { total: { sum: 'purchasePrice' }, n: 'count' },
  filter: { product: { eq: '12 red roses' }, purchasePrice: { gt: 10 } },
  groupBy: 'customer.firstName',
  timeframe: { start: '2015-07-01T00:00:00Z', end: '2015-08-01T00:00:00Z' },
  interval: 'daily',
  timezone: 'Australia/Brisbane',
};
const VALID_EXPORT = {
  query: { filter: { product: 'apple' }, timeframe: 'today' },
  s3Path: 's3://fuzz-bucket/exports/',
  s3AccessKeyId: 'AKIAFUZZ',
  s3SecretAccessKey: 'fuzz-secret',
};
const COLLECTIONS: readonly string[] = [
  'purchases',
  'my+coll',
  '%2B',
  '%20',
  '%00',
  'a%2Fb',
  '..',
  'x'.repeat(300),
  '%F0%9F%98%80',
  'EVENTS',
  '%ZZ',
];

describe(`fuzz (seed ${SEED}, ${REQUESTS} requests)`, () => {
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    // ROLE api: the export bodies must not start uploads to nowhere. Rate limits stay on, but high
    // enough that the run's wrong keys (one client address) and its S3 export bodies are answered on their merits.
    t = await startTestApp({
      ROLE: 'api',
      RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '100000',
      RATE_LIMIT_AUTH_FAILURES_PER_KEY: '100000',
      RATE_LIMIT_S3_EXPORTS: '100000',
    });
    project = await t.createProject('fuzz');
  });
  afterAll(() => t.close());

  it('never answers 5xx (but the documented 503 with Retry-After), always in Connect shapes, and stays healthy', async () => {
    const unexpected: string[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const kind = pick(['push', 'batch', 'query', 'smallExport', 's3Export'] as const);
      const collection = random() < 0.8 ? 'purchases' : pick(COLLECTIONS);
      const headers: Record<string, string> =
        random() < 0.9
          ? auth(project, pick(['master', 'push', 'query', 'pushQuery'] as const))
          : { 'X-Project-Id': project.projectId, 'X-Api-Key': 'f'.repeat(32) };
      let req;
      let sent: string;
      if (kind === 'push') {
        sent = toText(mutate(VALID_EVENT));
        req = t.http.post(`/events/${collection}`).set(headers).set('Content-Type', 'application/json').send(sent);
      } else if (kind === 'batch') {
        sent = toText(mutate({ [collection]: [VALID_EVENT, mutate(VALID_EVENT)] }));
        req = t.http.post('/events').set(headers).set('Content-Type', 'application/json').send(sent);
      } else if (kind === 'query' || kind === 'smallExport') {
        sent = toText(random() < 0.005 ? { select: { n: 'count' }, filter: hugeFilter() } : mutate(VALID_QUERY));
        const path = kind === 'query' ? `/events/${collection}` : `/events/${collection}/export`;
        req = t.http.get(`${path}?query=${encodeURIComponent(sent)}`).set(headers);
      } else {
        sent = toText(random() < 0.01 ? { ...VALID_EXPORT, query: { filter: hugeFilter() } } : mutate(VALID_EXPORT));
        req = t.http.post(`/events/${collection}/export`).set(headers).set('Content-Type', 'application/json').send(sent);
      }
      const res = await req;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const shaped =
        (res.status < 400 && res.status >= 200) ||
        (typeof res.body?.errorMessage === 'string' && res.body.errorMessage.length > 0) ||
        (Array.isArray(res.body?.errors) &&
          res.body.errors.every(
            (e: { field?: unknown; description?: unknown }) => typeof e.field === 'string' && typeof e.description === 'string',
          ));
      const deliberate503 = res.status === 503 && res.headers['retry-after'] !== undefined;
      if ((res.status >= 500 && !deliberate503) || !shaped) {
        unexpected.push(`${kind} ${collection} ${sent.slice(0, 300)} -> ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    process.stdout.write(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}\n`);
    expect(unexpected).toEqual([]);
    // The run must exercise both acceptance and refusal, or it proves little.
    expect(statuses.get(200)).toBeGreaterThan(100);
    expect(statuses.get(422)).toBeGreaterThan(100);
    expect(statuses.get(400)).toBeGreaterThan(10);
    const health = await t.http.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
  }, 300_000);
});
