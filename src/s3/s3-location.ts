import { hasControlCharacter, isStorableText, ValidationError } from '../common';

/** Where an export goes (or an import reads from): an AWS bucket (endpoint null) or a bucket of an allowed S3-compatible endpoint. */
export interface S3Location {
  /** Origin of an S3-compatible endpoint, addressed path-style; null for AWS S3. */
  endpoint: string | null;
  region: string;
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
}

const AWS_SUFFIX = '.amazonaws.com';
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 refuses bucket names formatted as IP addresses. */
const IP_ADDRESS = /^\d+\.\d+\.\d+\.\d+$/;
const DEFAULT_REGION = 'us-east-1';

export const S3_PATH_HELP =
  's3Path must be s3://<bucket>/<prefix>, an Amazon S3 URL (https://<bucket>.s3.amazonaws.com/<prefix>, ' +
  'https://<bucket>.s3.<region>.amazonaws.com/<prefix>, https://s3.<region>.amazonaws.com/<bucket>/<prefix>) ' +
  'or a path-style URL of an endpoint listed in S3_ALLOWED_ENDPOINTS.';

function invalid(description: string = S3_PATH_HELP): ValidationError {
  return ValidationError.of('s3Path', description);
}

/** Splits '/a//b/c' into its bucket ('a') and the rest ('b/c'), for path-style URLs. */
function splitPathStyle(path: string): [string, string] {
  const [bucket = '', ...rest] = path.replace(/^\/+/, '').split('/');
  return [bucket, rest.join('/')];
}

/**
 * Normalises an object key prefix: percent-decoded, no leading '/', no empty segments ('a//b' →
 * 'a/b'), and treated as a folder ('exports' → 'exports/'); '' stays ''.
 * @throws ValidationError for control characters, unpaired surrogates, or '.' / '..' segments.
 */
export function normalisePrefix(rawPath: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw invalid('s3Path is not correctly URL-encoded.');
  }
  if (hasControlCharacter(decoded) || !isStorableText(decoded)) {
    throw invalid('The s3Path prefix cannot contain control characters or unpaired surrogates.');
  }
  const segments = decoded.split('/').filter((s) => s.length > 0);
  // '..%2f' survives URL parsing as part of a segment; a server or proxy that resolves it would
  // write outside the bucket the request named.
  if (segments.some((s) => s === '.' || s === '..')) {
    throw invalid("The s3Path prefix cannot contain '.' or '..' segments.");
  }
  return segments.length === 0 ? '' : `${segments.join('/')}/`;
}

/**
 * Refuses '.' and '..' path segments in the text as sent, before URL parsing: the WHATWG parser
 * resolves them, also when encoded (`%2e%2e`, `.%2E`) and, in http(s) URLs, between backslashes, so
 * `http://host/bucket/../other/` would otherwise name the bucket `other`.
 * @throws ValidationError (422, field `s3Path`).
 */
function refuseDotSegments(s3Path: string): void {
  const path = s3Path.replace(/^[a-z][a-z0-9+.-]*:[\\/]{2}[^/\\?#]*/i, '').replace(/[?#].*$/s, '');
  for (const segment of path.split(/[\\/]/)) {
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // not valid percent-encoding: normalisePrefix refuses it with its own message
    }
    if (decoded === '.' || decoded === '..') {
      throw invalid("s3Path cannot contain '.' or '..' segments.");
    }
  }
}

function awsLocation(host: string, pathname: string): S3Location | null {
  if (!host.endsWith(AWS_SUFFIX)) {
    return null;
  }
  const label = host.slice(0, -AWS_SUFFIX.length);
  let match: RegExpMatchArray | null;
  if ((match = /^s3(?:[.-]([a-z0-9-]+))?$/.exec(label))) {
    const [bucket, rest] = splitPathStyle(pathname);
    return { endpoint: null, region: match[1] ?? DEFAULT_REGION, bucket, prefix: rest };
  }
  if ((match = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?$/.exec(label))) {
    return { endpoint: null, region: match[2] ?? DEFAULT_REGION, bucket: match[1], prefix: pathname };
  }
  return null;
}

/**
 * Parses the `s3Path` of an export request (Connect docs, "Exporting events": "Exporting to Amazon S3").
 * Only AWS S3 hosts and the origins in `allowedEndpoints` are accepted, so the service cannot be
 * aimed at arbitrary internal addresses.
 * @throws ValidationError (422, field `s3Path`) for anything else.
 */
export function parseS3Path(s3Path: string, allowedEndpoints: readonly string[]): S3Location {
  refuseDotSegments(s3Path);
  let url: URL;
  try {
    url = new URL(s3Path);
  } catch {
    throw invalid();
  }
  if (url.username || url.password || url.search || url.hash) {
    throw invalid('s3Path cannot contain credentials, a query string or a fragment.');
  }
  let location: S3Location | null = null;
  if (url.protocol === 's3:') {
    if (url.port) {
      throw invalid('s3:// paths name a bucket, not a host and port.');
    }
    location = { endpoint: null, region: DEFAULT_REGION, bucket: url.hostname, prefix: url.pathname };
  } else if (allowedEndpoints.includes(url.origin)) {
    const [bucket, rest] = splitPathStyle(url.pathname);
    location = { endpoint: url.origin, region: DEFAULT_REGION, bucket, prefix: rest };
  } else if (url.protocol === 'https:' && url.port === '') {
    location = awsLocation(url.hostname, url.pathname);
  }
  if (!location) {
    throw invalid();
  }
  if (!BUCKET.test(location.bucket) || location.bucket.includes('..') || IP_ADDRESS.test(location.bucket)) {
    throw invalid('s3Path must name a valid bucket (3–63 characters: lower-case letters, digits, dots and hyphens).');
  }
  if (location.endpoint === null && !REGION.test(location.region)) {
    throw invalid(`'${location.region}' is not an AWS region. ${S3_PATH_HELP}`);
  }
  return { ...location, prefix: normalisePrefix(location.prefix) };
}

/** An object in S3 (what an import reads): its bucket's location and its key. */
export interface S3Object {
  location: S3Location;
  key: string;
}

/**
 * Parses an `s3Path` that names one object (Connect docs, "Importing events": `s3://mybucket/purchases.json`),
 * in the same forms and under the same allow-list as `parseS3Path`.
 * @throws ValidationError (422, field `s3Path`) for anything `parseS3Path` refuses, a path that
 *         names a bucket or a folder (empty, or ending in '/'), or a key over 1,024 bytes.
 */
export function parseS3ObjectPath(s3Path: string, allowedEndpoints: readonly string[]): S3Object {
  const location = parseS3Path(s3Path, allowedEndpoints);
  const key = location.prefix.slice(0, -1);
  if (key === '' || /\/$/.test(s3Path)) {
    throw invalid('s3Path must name an object (s3://<bucket>/<key>, e.g. s3://mybucket/purchases.json), not a bucket or a folder.');
  }
  if (Buffer.byteLength(key, 'utf8') > 1024) {
    throw invalid('The s3Path object key is too long: object keys are limited to 1,024 bytes.');
  }
  return { location: { ...location, prefix: '' }, key };
}
