// A session's kept bytes: the base64 reads of its payloads joined into one buffer (the store keeps it, intel
// reads it). One home for the decoding, so both see the same bytes.
import type { SessionEvent } from './events.js';

// The bytes of the payload entries built last (session-event.ts), kept beside them: a session event is built
// and emitted at once, so its annotators and sinks read them here instead of decoding the base64 again. One
// slot, matched by identity (entries are never changed once built): a WeakMap or a hidden property cost a
// microsecond a session, more than the decoding it saves.
let lastEntries: SessionEvent['payloads'] | undefined;
let lastBytes: Buffer = Buffer.alloc(0);

/** Remembers the bytes of freshly built payload entries (a copy: sources hand over views they reuse). */
export function keepBytes(entries: SessionEvent['payloads'], bytes: Buffer): void {
  lastEntries = entries;
  lastBytes = bytes;
}

/**
 * The base64 reads of a session as one buffer of at most maxBytes: the bytes kept when the entries were
 * built last, else decoded. Read-only.
 */
export function joinPayload(payloads: SessionEvent['payloads'], maxBytes: number): Buffer {
  if (payloads === lastEntries)
    return lastBytes.length > maxBytes ? lastBytes.subarray(0, maxBytes) : lastBytes;
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
