// A session's kept bytes: the base64 reads of its payloads joined into one buffer (the store keeps it, intel
// reads it). One home for the decoding, so both see the same bytes.
import type { SessionEvent } from './events.js';

/** The bytes that a list of payload entries encodes, kept by whoever built it (session-event.ts). */
const kept = new WeakMap<object, Buffer>();

/** Remembers the bytes of freshly built payload entries (a copy: sources hand over views they reuse). */
export function keepBytes(entries: SessionEvent['payloads'], bytes: Buffer): void {
  kept.set(entries, bytes);
}

/**
 * The base64 reads of a session as one buffer of at most maxBytes: the bytes kept when the entries were
 * built (every session on the bus), else decoded (entries read back from elsewhere). Read-only.
 */
export function joinPayload(payloads: SessionEvent['payloads'], maxBytes: number): Buffer {
  const raw = kept.get(payloads);
  if (raw) return raw.length > maxBytes ? raw.subarray(0, maxBytes) : raw;
  const parts: Buffer[] = [];
  let n = 0;
  for (const p of payloads) {
    if (n >= maxBytes) break;
    const b = Buffer.from(p.data, 'base64');
    parts.push(b.length > maxBytes - n ? b.subarray(0, maxBytes - n) : b);
    n += Math.min(b.length, maxBytes - n);
  }
  return Buffer.concat(parts, n);
}
