import { isIP } from 'node:net';
import { defineSection } from './section';
import { Integer, Milliseconds, OneOf, Text, Variable } from './variables';

export const PROCESS_ROLES = ['all', 'api', 'worker'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

/**
 * Express `trust proxy`: false (use the socket's address), true (the left-most X-Forwarded-For
 * entry), a hop count, or the addresses/subnets of trusted proxies (`loopback`, `10.0.0.0/8`).
 */
export type TrustProxy = boolean | number | string[];

const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IP address or CIDR subnet (`10.0.0.0/8`, `fd00::/8`) as Express's `trust proxy` takes them. */
function isAddressOrSubnet(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

/** TRUST_PROXY: `true`, `false`, a hop count, or a comma-separated list of names, addresses and subnets. */
function parseTrustProxy(text: string): TrustProxy {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^\d+$/.test(text)) return Number(text);
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The HTTP server: where it listens, who it believes, and which parts of the service the process runs. */
export class HttpVariables {
  @Variable({
    parse: (text) => text,
    problems: (value, name) =>
      isIP(value as string) !== 0 || value === 'localhost' ? [] : [`${name} must be an IP address (0.0.0.0, 127.0.0.1, ::) or localhost`],
  })
  HOST = '0.0.0.0';

  @Integer(0, 65_535)
  PORT = 3000;

  @OneOf(PROCESS_ROLES)
  ROLE: ProcessRole = 'all';

  @Variable({
    parse: (text) => text.replace(/\/+$/, '') || null,
    problems: (value, name) =>
      value === null || /^https?:\/\/[^/]+(\/.*)?$/.test(value as string) ? [] : [`${name} must be an absolute http(s) URL`],
  })
  PUBLIC_BASE_URL: string | null = null;

  @Variable({
    parse: parseTrustProxy,
    problems: (value, name) =>
      Array.isArray(value)
        ? value
            .filter((entry: string) => !TRUST_PROXY_NAMES.has(entry) && !isAddressOrSubnet(entry))
            .map(
              (entry) =>
                `${name} entry '${entry}' is not true, false, a hop count, loopback, linklocal, uniquelocal, an IP address or a subnet`,
            )
        : [],
  })
  TRUST_PROXY: TrustProxy = false;

  @Milliseconds(1000)
  HTTP_IDLE_TIMEOUT_MS = 60_000;

  @Milliseconds(0)
  HTTP_CLOSE_LINGER_MS = 2000;

  @Text()
  NODE_ENV: string | null = null;
}

export interface HttpConfig {
  /** Address the HTTP server listens on: `0.0.0.0` (default, every IPv4 interface), `127.0.0.1`, `::`, … */
  host: string;
  /** HTTP port (default 3000). */
  port: number;
  /** `all`: API and export/import worker in one process; `api`: HTTP only; `worker`: the worker only. */
  role: ProcessRole;
  /** Base of absolute URLs in `Location` headers, e.g. `https://analytics.example.com` (no trailing `/`); else the request's. */
  publicBaseUrl: string | null;
  /** Express `trust proxy` (which address `request.ip` is; rate limits per client address use it). */
  trustProxy: TrustProxy;
  /** Socket inactivity after which the HTTP server drops a connection, ms (a client that stopped reading). */
  idleTimeoutMs: number;
  /**
   * How long a connection closed with part of its request body unread (a refused request) keeps
   * discarding what the client still sends before it is dropped, ms, so the client reads the
   * answer instead of a connection reset.
   */
  closeLingerMs: number;
  /** Whether NODE_ENV is `production` (then a missing PUBLIC_BASE_URL is warned about at start). */
  production: boolean;
}

/** HOST, PORT, ROLE, PUBLIC_BASE_URL, TRUST_PROXY, HTTP_IDLE_TIMEOUT_MS, HTTP_CLOSE_LINGER_MS (docs/configuration.md). */
export const httpConfig = defineSection('http', HttpVariables, (v): HttpConfig => ({
  host: v.HOST,
  port: v.PORT,
  role: v.ROLE,
  publicBaseUrl: v.PUBLIC_BASE_URL,
  trustProxy: v.TRUST_PROXY,
  idleTimeoutMs: v.HTTP_IDLE_TIMEOUT_MS,
  closeLingerMs: v.HTTP_CLOSE_LINGER_MS,
  production: v.NODE_ENV === 'production',
}));
