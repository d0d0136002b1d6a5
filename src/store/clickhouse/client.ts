// Where ClickHouse is and who we are there: --clickhouse http://USER:PASSWORD@HOST:8123/DATABASE, the
// password optionally from TIDEWATCH_CLICKHOUSE_PASSWORD (never logged: only redacted() is). The client is
// the official @clickhouse/client over HTTP; it gets the origin, user and password separately and no default
// database, because every statement names its tables as database.table (the database may not exist yet).
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';

import { ConfigError } from '../../core/errors.js';
import { isIdent } from './sql.js';

export const PASSWORD_ENV = 'TIDEWATCH_CLICKHOUSE_PASSWORD';
/** A request that takes longer is abandoned (and, for an insert, retried idempotently). */
export const REQUEST_TIMEOUT_MS = 60_000;

export interface ClickHouseTarget {
  /** http(s)://host:port, without credentials or path. */
  origin: string;
  username: string;
  password: string;
  database: string;
}

/** Parses --clickhouse; `password` (from --clickhouse-password or its environment variable) fills a URL without one. */
export function parseClickHouseUrl(text: string, password = ''): ClickHouseTarget {
  const fix =
    'write http://USER:PASSWORD@HOST:8123/DATABASE (the password may come from ' + PASSWORD_ENV + ')';
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ConfigError(`bad value for --clickhouse: not a URL: ${fix}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError(`bad value for --clickhouse: use http or https: ${fix}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'tidewatch';
  if (!isIdent(database))
    throw new ConfigError(
      `bad database name in --clickhouse "${database.slice(0, 40)}": letters, digits and _ only`,
    );
  if (u.search || u.hash) throw new ConfigError(`bad value for --clickhouse: no ?query or #fragment: ${fix}`);
  return {
    origin: u.origin,
    username: decodeURIComponent(u.username) || 'default',
    password: u.password ? decodeURIComponent(u.password) : password,
    database,
  };
}

/** The URL with the password masked, for logs. */
export function redacted(t: ClickHouseTarget): string {
  return `${t.origin.replace('://', `://${t.username}@`)}/${t.database}`;
}

export function openClient(t: ClickHouseTarget, opts: { requestTimeoutMs?: number } = {}): ClickHouseClient {
  return createClient({
    url: t.origin,
    username: t.username,
    password: t.password,
    request_timeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    compression: { request: false, response: false },
    max_open_connections: 4,
    // Failures reach the caller, which counts and logs them rate-limited; the client must not print them.
    log: { level: ClickHouseLogLevel.OFF },
  });
}
