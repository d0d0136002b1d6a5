// Property-based fuzzing of the whole decoder: random bytes and mutated real frames, under every link
// type, never throw, never loop, and never read past the frame (the frame sits inside a Proxy-free guard:
// bytes after it are poison that would show up as counts if read).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { batch, ether, ipv4, ipv6, tcp, udp } from '../../../test/helpers/pcap-frames.js';
import { PacketCounters } from '../counters.js';
import { Decoded, decodeFrame, LINKTYPE } from './index.js';

const LINKTYPES = Object.values(LINKTYPE);
const seeds = [
  ether(
    0x0800,
    ipv4({ src: '198.18.0.2', dst: '198.18.0.1', proto: 6, payload: tcp({ sport: 1, dport: 80, flags: 2 }) }),
  ),
  ether(
    0x86dd,
    ipv6({
      src: '2001:2::2',
      dst: '2001:2::1',
      nextHeader: 17,
      ext: [{ type: 0 }, { type: 44, mf: true }],
      payload: udp({ sport: 1, dport: 53 }),
    }),
  ),
  ether(
    0x0800,
    ipv4({ src: '198.18.0.2', dst: '198.18.0.1', proto: 17, payload: udp({ sport: 1, dport: 53 }) }),
    [0x88a8, 0x8100],
  ),
];

/** Decodes `frame` placed at the start of a larger buffer whose tail is 0xff poison; checks it never read it. */
function decodeGuarded(frame: Uint8Array, origLen: number, lt: number): void {
  const d = new Decoded();
  const b = Buffer.alloc(frame.length + 64, 0xff);
  b.set(frame, 0);
  // Reads past caplen would see 0xff; reads inside must not depend on it: decode both ways and compare.
  const b0 = Buffer.alloc(frame.length + 64, 0x00);
  b0.set(frame, 0);
  const d0 = new Decoded();
  const ok1 = decodeFrame(d, b, 0, frame.length, origLen, lt);
  const ok0 = decodeFrame(d0, b0, 0, frame.length, origLen, lt);
  assert.equal(ok1, ok0);
  assert.deepEqual({ ...d, optEnd: 0 }, { ...d0, optEnd: 0 });
  if (ok1 && d.hasPorts) assert.ok(d.optEnd <= frame.length);
}

test('fuzz: random bytes under every link type never throw and never read past caplen', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(...LINKTYPES),
      fc.nat(100),
      (bytes, lt, extra) => {
        decodeGuarded(bytes, bytes.length + extra, lt);
      },
    ),
    { numRuns: 20000 },
  );
});

test('fuzz: mutated real frames never throw and never read past caplen', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.nat(),
      (seed, muts, cut) => {
        const f = Uint8Array.from(seed);
        for (const [i, v] of muts) f[i % f.length] = v;
        const len = cut % (f.length + 1);
        decodeGuarded(f.subarray(0, len), f.length, LINKTYPE.ETHERNET);
      },
    ),
    { numRuns: 20000 },
  );
});

test('fuzz: random batches (any caplen/origLen/count) never throw and keep packets = sum of outcomes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 20 }),
      fc.nat(40),
      fc.constantFrom(...LINKTYPES),
      (frames, count, lt) => {
        const c = new PacketCounters({ excludePrivate: true, onlyDst: ['0.0.0.0', '::'], onProbe: () => {} });
        c.setOwnAddresses(['198.18.0.1', '2001:2::1']);
        const b = batch(frames.map((f) => Buffer.from(f)));
        c.addBatch(b, count, lt);
        const s = c.snapshot();
        assert.equal(s.packets, count);
        const ether = Object.values(s.ethertypes).reduce((a, v) => a + v, 0);
        assert.equal(s.malformed + s.ignored + ether, count);
      },
    ),
    { numRuns: 5000 },
  );
});

test('fuzz: a corrupt batch header (caplen past the buffer) stops without reading past it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(10), (bytes, count) => {
      const c = new PacketCounters({ excludePrivate: false, onlyDst: [] });
      c.addBatch(Buffer.from(bytes), count, 1);
      assert.equal(c.snapshot().packets, count);
    }),
    { numRuns: 5000 },
  );
});
