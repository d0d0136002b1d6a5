// Keys and text of the daily table (table.ts): protocol codes, IPv4 addresses as int32 keys and
// back, UTC day names, CSV lines. Hand-written parsing and caches: they run per probe or per row written.
import { isIP } from 'node:net';
import type { DailyRow as RowFields } from '../core/events.js';

/** A row with its UTC day (the CSV file it belongs to). */
export interface DailyRow extends RowFields {
  /** UTC day, YYYY-MM-DD. */
  day: string;
}

const PROTO_CODES = new Map<string, number>([
  ['TCP', 0],
  ['UDP', 1],
]);
export const PROTO_NAMES = ['TCP', 'UDP'];
export function protoCode(proto: string): number {
  let code = proto === 'TCP' ? 0 : proto === 'UDP' ? 1 : PROTO_CODES.get(proto);
  if (code === undefined) {
    code = PROTO_CODES.size & 0x7f;
    PROTO_CODES.set(proto, code);
    PROTO_NAMES[code] = proto;
  }
  return code;
}

/**
 * The int32 of a canonical dotted-quad IPv4 address (what node's isIPv4 accepts: no leading zeros), or
 * undefined. Hand-written: it runs per row loaded and must not allocate (split() would).
 */
export function v4Key(s: string): number | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else return undefined;
  }
  if (digits === 0 || dots !== 3) return undefined;
  return (v * 256 + part) | 0;
}

export const v4Text = (k: number): string => `${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`;
/** Destinations repeat (a sensor's few addresses): their text is cached, bounded (cleared when full). */
const DST_TEXT = new Map<number, string>();
export function dstText(k: number): string {
  let t = DST_TEXT.get(k);
  if (t === undefined) {
    if (DST_TEXT.size >= 65536) DST_TEXT.clear();
    t = v4Text(k);
    DST_TEXT.set(k, t);
  }
  return t;
}
export const keyText = (k: number | string): string => (typeof k === 'number' ? v4Text(k) : k);

let cachedDayNum = NaN;
let cachedDay = '';
/** YYYY-MM-DD of a unix time, UTC. Cached: formatting a Date costs ~2 µs and probes come in bursts. */
export function utcDay(unixSec: number): string {
  const n = Math.floor(unixSec / 86400);
  if (n !== cachedDayNum) {
    cachedDay = new Date(n * 86400_000).toISOString().slice(0, 10);
    cachedDayNum = n;
  }
  return cachedDay;
}

export const formatRow = (r: DailyRow): string =>
  `${r.proto} ${r.dst_port ?? '-'} ${r.dst_ip} ${r.src_ip} ${r.first_seen} ${r.last_seen} ${r.count}\n`;

const INT = /^\d{1,15}$/;

/** One CSV line, validated field by field (a hand-edited or merged file is input like any other). */
export function parseRow(line: string): Omit<DailyRow, 'day'> | null {
  const f = line.trim().split(/\s+/);
  if (f.length !== 7) return null;
  const [proto, port, dst, src, first, last, count] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!/^[A-Z0-9]{1,16}$/.test(proto)) return null;
  if (port !== '-' && (!INT.test(port) || Number(port) > 65535)) return null;
  if (!isIP(dst) || !isIP(src)) return null;
  if (!INT.test(first) || !INT.test(last) || !INT.test(count)) return null;
  const fs = Number(first);
  const ls = Number(last);
  if (ls < fs || utcDay(fs) !== utcDay(ls)) return null;
  return {
    proto,
    dst_port: port === '-' ? null : Number(port),
    dst_ip: dst,
    src_ip: src,
    first_seen: fs,
    last_seen: ls,
    count: Number(count),
  };
}
