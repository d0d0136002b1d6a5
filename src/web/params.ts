// Validation of every query parameter of the API: unknown or repeated names, ports outside 1-65535,
// addresses node:net does not accept, malformed times, pages past their caps all get 400 with a message
// that names the parameter and what it accepts. The store never sees an unchecked value.
import { isIP } from 'node:net';
import { parseDuration } from '../config/units.js';
import { parseCursor, type SessionCursor } from '../store/query.js';
import { HttpError } from './http-util.js';

const DAY_MS = 86_400_000;
/** Longest time range one request may ask for (counters are kept 400 days by default). */
export const MAX_RANGE_MS = 400 * DAY_MS;
export const MAX_OFFSET = 1_000_000;
export const MAX_TEXT_CHARS = 256;
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

const bad = (msg: string): HttpError => new HttpError(400, msg);

export class Params {
  private readonly seen = new Set<string>();

  constructor(
    private readonly q: URLSearchParams,
    allowed: readonly string[],
    private readonly now: number = Date.now(),
  ) {
    for (const key of new Set(q.keys())) {
      if (!allowed.includes(key))
        throw bad(
          `unknown parameter "${key.slice(0, 40)}"; this route accepts: ${allowed.join(', ') || 'none'}`,
        );
      if (q.getAll(key).length > 1) throw bad(`parameter "${key}" given more than once`);
    }
  }

  private raw(name: string): string | undefined {
    this.seen.add(name);
    const v = this.q.get(name);
    return v === null || v === '' ? undefined : v;
  }

  int(name: string, o: { min: number; max: number; def?: number }): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return o.def;
    if (!/^\d{1,16}$/.test(v)) throw bad(`${name} must be a whole number from ${o.min} to ${o.max}`);
    const n = Number(v);
    if (n < o.min || n > o.max) throw bad(`${name} must be from ${o.min} to ${o.max}, got ${n}`);
    return n;
  }

  port(name = 'port'): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535)
      throw bad(`${name} must be a port number from 1 to 65535`);
    return Number(v);
  }

  requiredPort(name = 'port'): number {
    const p = this.port(name);
    if (p === undefined) throw bad(`${name} is required (a port number from 1 to 65535)`);
    return p;
  }

  ip(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    return checkIp(v, name);
  }

  choice<T extends string>(name: string, values: readonly T[], def?: T): T | undefined {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!(values as readonly string[]).includes(v)) throw bad(`${name} must be one of ${values.join(', ')}`);
    return v as T;
  }

  text(name: string, maxChars: number = MAX_TEXT_CHARS): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (v.length > maxChars) throw bad(`${name} is longer than ${maxChars} characters`);
    return v;
  }

  /** A sensor id (--sensor): letters, digits and . _ : @ - only, at most 64. */
  sensor(name = 'sensor'): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!/^[A-Za-z0-9._:@-]{1,64}$/.test(v))
      throw bad(`${name} must be a sensor id (letters, digits and . _ : @ -, at most 64)`);
    return v;
  }

  /** A session cursor "TS-ID" (the `next` of a previous page). */
  cursor(name = 'cursor'): SessionCursor | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const c = v.length <= 40 ? parseCursor(v) : undefined;
    if (!c) throw bad(`${name} must be the "next" of a previous page (TS-ID, for example 1767225600000-42)`);
    return c;
  }

  bool(name: string): boolean | undefined {
    const v = this.choice(name, ['true', 'false', '1', '0'] as const);
    return v === undefined ? undefined : v === 'true' || v === '1';
  }

  time(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    return parseTime(v, name, this.now);
  }

  /** from/to with defaults; to defaults to now, from to `to - defaultSpanMs`. */
  range(defaultSpanMs: number, maxSpanMs: number = MAX_RANGE_MS): { from: number; to: number } {
    const to = this.time('to') ?? this.now;
    const from = this.time('from') ?? to - defaultSpanMs;
    checkRange(from, to, maxSpanMs);
    return { from, to };
  }

  /** from/to only when given (session search without a range searches everything kept). */
  optionalRange(): { from?: number; to?: number } {
    const from = this.time('from');
    const to = this.time('to');
    if (from !== undefined && to !== undefined && from > to) throw bad('from must not be after to');
    return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
  }

  page(defLimit: number, maxLimit: number): { limit: number; offset: number } {
    return {
      limit: this.int('limit', { min: 1, max: maxLimit, def: defLimit })!,
      offset: this.int('offset', { min: 0, max: MAX_OFFSET, def: 0 })!,
    };
  }

  /** A UTC day YYYY-MM-DD that exists in the calendar. */
  day(name: string, def: string): string {
    const v = this.raw(name) ?? def;
    return checkDay(v, name);
  }
}

export function checkRange(from: number, to: number, maxSpanMs: number): void {
  if (from > to) throw bad('from must not be after to');
  if (to - from > maxSpanMs)
    throw bad(`time range longer than ${Math.round(maxSpanMs / DAY_MS)} days; narrow from/to`);
}

export function checkIp(v: string, name: string): string {
  if (v.length > 64 || isIP(v) === 0) throw bad(`${name} must be an IPv4 or IPv6 address`);
  return v;
}

export function checkDay(v: string, name: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== v)
    throw bad(`${name} must be a UTC day as YYYY-MM-DD`);
  return v;
}

/**
 * A time: ms since the epoch (digits), an ISO 8601 date or date-time (UTC unless it has an offset), or a
 * duration back from now ("-24h", "-7d").
 */
export function parseTime(v: string, name: string, now: number): number {
  const what = `${name} must be ms since the epoch, an ISO 8601 time (2026-01-31T12:00:00Z) or -DURATION (-24h)`;
  let t: number;
  if (/^\d{1,15}$/.test(v)) t = Number(v);
  else if (v.startsWith('-')) {
    const d = parseDuration(v.slice(1));
    if (d === undefined || v.length > 20) throw bad(what);
    t = now - d;
  } else if (ISO_RE.test(v)) {
    const s = v.replace(' ', 'T');
    const hasZone = s.length > 10 && /(?:Z|[+-]\d{2}:?\d{2})$/.test(s);
    t = Date.parse(s.length === 10 || hasZone ? s : `${s}Z`);
  } else throw bad(what);
  if (!Number.isFinite(t) || t < 0 || t > 8.64e15) throw bad(what);
  return t;
}
