// The one place a session event is put together: from the TCP engine's records, from Node-side TCP/TLS
// sessions and from UDP datagrams. Sources hand over times in ms and raw bytes; this writes RFC 3339 times
// and tcppc-go's payload entries (base64, one per read).
import type { CloseReason, SessionEvent, SessionProto } from './events.js';
import { nowIso } from './events.js';

/** RFC 3339 time of a ms timestamp, reusing the last string: sessions ending together share it. */
let lastMs = -1;
let lastIso = '';
export function iso(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = nowIso(ms);
  }
  return lastIso;
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
  return list.map((p, index) => ({ index, timestamp: iso(p.time), data: p.data.toString('base64') }));
}
