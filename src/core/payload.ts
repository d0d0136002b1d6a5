// A session's kept bytes: the base64 reads of its payloads joined into one buffer (the store keeps it, intel
// reads it). One home for the decoding, so both see the same bytes.
import type { SessionEvent } from './events.js';

/** Decodes the base64 reads of a session into one buffer of at most maxBytes. */
export function joinPayload(payloads: SessionEvent['payloads'], maxBytes: number): Buffer {
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
