// The one place a session event is put together: from the TCP engine's records, from Node-side TCP/TLS
// sessions and from UDP datagrams. Sources hand over times in ms and raw bytes; this writes RFC 3339 times
// and tcppc-go's payload entries (base64, one per read).
import type { CloseReason, SessionEvent, SessionProto } from './events.js';
import { nowIso } from './events.js';
import { keepBytes } from './payload.js';

/** Up to the year 9999 an RFC 3339 time is "YYYY-MM-DDTHH:MM:SS." + 3 digits + "Z". */
const MAX_PLAIN_MS = 253402300800000;

/**
 * RFC 3339 time of a ms timestamp, as Date#toISOString writes it. Reuses the last string (sessions ending
 * together share it) and the last second's text: most calls only append the milliseconds.
 */
let lastMs = -1;
let lastIso = '';
let lastSec = -1;
let secText = '';
export function iso(ms: number): string {
  if (ms === lastMs) return lastIso;
  lastMs = ms;
  if (!(ms >= 0 && ms < MAX_PLAIN_MS)) return (lastIso = nowIso(ms));
  const whole = Math.floor(ms);
  const sec = Math.floor(whole / 1000);
  if (sec !== lastSec) {
    lastSec = sec;
    secText = nowIso(sec * 1000).slice(0, 20);
  }
  const m = whole - sec * 1000;
  return (lastIso = secText + (m < 10 ? '00' : m < 100 ? '0' : '') + m + 'Z');
}

/** What a source knows of a finished session; times in ms since the epoch. */
export interface SessionRecord {
  proto: SessionProto;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  started: number;
  ended: number;
  bytes: number;
  truncated: boolean;
  close: CloseReason;
  /** The kept bytes, one entry per read with the time it came. */
  payloads: readonly { time: number; data: Buffer }[];
}

export function sessionEvent(sensor: string, r: SessionRecord): SessionEvent {
  const ts = iso(r.ended);
  return {
    type: 'session',
    ts,
    sensor,
    proto: r.proto,
    src: r.src,
    sport: r.sport,
    dst: r.dst,
    dport: r.dport,
    started: iso(r.started),
    ended: ts,
    bytes: r.bytes,
    truncated: r.truncated,
    close: r.close,
    payloads: payloadEntries(r.payloads),
  };
}

/** tcppc-go's payload entries (also the shape of a responder's `sent`). */
export function payloadEntries(list: readonly { time: number; data: Buffer }[]): SessionEvent['payloads'] {
  const entries = list.map((p, index) => ({
    index,
    timestamp: iso(p.time),
    data: p.data.toString('base64'),
  }));
  // Readers of the bytes (intel, the store) take them from here instead of decoding the base64 again.
  keepBytes(entries, Buffer.concat(list.map((p) => p.data)));
  return entries;
}
