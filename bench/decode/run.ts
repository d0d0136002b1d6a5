// Decoder benchmark: packets per second of the TypeScript decoders and counters on batches already in
// memory (what each batch from the addon costs in JS), with and without probe events and the daily table.
// Reference in the same run: a minimal parser (ethertype, IPv4 protocol, TCP/UDP port, no checks) as in
// the stack notes, and a walk that only visits the records.
// Usage: node dist/bench/decode/run.js [--packets 1000000] [--runs 7]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PacketCounters } from '../../src/capture/counters.js';
import { DailyTable } from '../../src/daily/table.js';
import { writeCapture } from '../../test/helpers/pcap-gen.js';

const { values: argv } = parseArgs({
  options: { packets: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '7' } },
});
const N = Number(argv.packets);
const RUNS = Number(argv.runs);
const BATCH_BYTES = 2 << 20;

/** Classic pcap file -> batch buffers in the capture contract (what the addon hands over). */
function toBatches(file: string): { buf: Buffer; count: number }[] {
  const f = readFileSync(file);
  const out: { buf: Buffer; count: number }[] = [];
  let buf = Buffer.alloc(BATCH_BYTES);
  let at = 0;
  let count = 0;
  for (let o = 24; o + 16 <= f.length;) {
    const caplen = f.readUInt32LE(o + 8);
    const need = (16 + caplen + 7) & ~7;
    if (at + need > BATCH_BYTES) {
      out.push({ buf, count });
      buf = Buffer.alloc(BATCH_BYTES);
      at = 0;
      count = 0;
    }
    buf.writeUInt32LE(f.readUInt32LE(o), at);
    buf.writeUInt32LE(f.readUInt32LE(o + 4), at + 4);
    buf.writeUInt32LE(caplen, at + 8);
    buf.writeUInt32LE(f.readUInt32LE(o + 12), at + 12);
    f.copy(buf, at + 16, o + 16, o + 16 + caplen);
    at += need;
    count++;
    o += 16 + caplen;
  }
  out.push({ buf, count });
  return out;
}

const walkCounts = new Uint32Array(65536);
function walk(b: Buffer, count: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const caplen = dv.getUint32(off + 8, true);
    walkCounts[b[off + 16 + 12]!]!++;
    off = (off + 16 + caplen + 7) & ~7;
  }
}

/** The stack notes' minimal parser: Ethernet (+1 VLAN), IPv4 protocol, TCP SYN / UDP port; few checks. */
const mSyn = new Uint32Array(65536);
const mUdp = new Uint32Array(65536);
const mProto = new Uint32Array(256);
function minimal(b: Buffer, count: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const caplen = dv.getUint32(off + 8, true);
    const s = off + 16;
    off = (off + 16 + caplen + 7) & ~7;
    if (caplen < 34) continue;
    let et = dv.getUint16(s + 12);
    let ip = s + 14;
    if (et === 0x8100) {
      et = dv.getUint16(s + 16);
      ip += 4;
    }
    if (et !== 0x0800) continue;
    const proto = b[ip + 9]!;
    mProto[proto]!++;
    const l4 = ip + (b[ip]! & 15) * 4;
    if (l4 + 14 > s + caplen) continue;
    if (proto === 6 && (b[l4 + 13]! & 0x12) === 2) mSyn[dv.getUint16(l4 + 2)]!++;
    else if (proto === 17) mUdp[dv.getUint16(l4 + 2)]!++;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function measure(
  name: string,
  make: () => (b: Buffer, c: number) => void,
  batches: { buf: Buffer; count: number }[],
): number {
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const fn = make();
    // CPU time of this (single-threaded) loop: steadier than wall time on a machine shared with other work.
    const c0 = process.cpuUsage();
    for (const { buf, count } of batches) fn(buf, count);
    const c = process.cpuUsage(c0);
    times.push((c.user + c.system) * 1000);
  }
  const ns = median(times) / N;
  console.log(
    `${name.padEnd(44)} ${ns.toFixed(1).padStart(7)} ns/pkt ${(1e3 / ns).toFixed(2).padStart(7)} Mpps`,
  );
  return ns;
}

const dir = mkdtempSync(join(tmpdir(), 'tw-bench-decode-'));
try {
  const file = join(dir, 'mix.pcap');
  const truth = writeCapture(file, { count: N, seed: 42, daily: false });
  const batches = toBatches(file);
  console.log(
    `${N} packets (${(truth.bytes / 1e6).toFixed(0)} MB, ${truth.malformed} malformed), ${batches.length} batches of ${BATCH_BYTES >> 20} MiB, median CPU time of ${RUNS} runs`,
  );
  const w = measure('reference: walk records only', () => walk, batches);
  const m = measure('reference: minimal parser (few checks)', () => minimal, batches);
  const counted = (o: ConstructorParameters<typeof PacketCounters>[0]) => () => {
    const c = new PacketCounters(o);
    return (b: Buffer, n: number) => c.addBatch(b, n, 1);
  };
  const c = measure(
    'PacketCounters: decode + count',
    counted({ excludePrivate: false, onlyDst: [] }),
    batches,
  );
  const f = measure(
    'PacketCounters + --exclude-private/--only-dst',
    counted({
      excludePrivate: true,
      onlyDst: ['198.19.0.1', '198.19.0.2', '198.19.0.3', '198.19.0.4', '2001:2:0:1::1', '2001:2:0:1::2'],
    }),
    batches,
  );
  const p = measure(
    'PacketCounters + probe events',
    counted({ excludePrivate: false, onlyDst: [], onProbe: () => {} }),
    batches,
  );
  const d = measure(
    'PacketCounters + probe events + DailyTable',
    () => {
      const t = new DailyTable({ maxSources: 1_000_000 });
      const c2 = new PacketCounters({ excludePrivate: false, onlyDst: [], onProbe: (e) => t.add(e) });
      return (b: Buffer, n: number) => c2.addBatch(b, n, 1);
    },
    batches,
  );
  const q = measure(
    'PacketCounters + DailyTable fast path',
    () => {
      const t = new DailyTable({ maxSources: 1_000_000 });
      const c2 = new PacketCounters({ excludePrivate: false, onlyDst: [], daily: t });
      return (b: Buffer, n: number) => c2.addBatch(b, n, 1);
    },
    batches,
  );
  console.log(
    `ratios to the minimal parser: count ${(m / c).toFixed(2)}, filters ${(m / f).toFixed(2)}, probes ${(m / p).toFixed(2)}, daily ${(m / d).toFixed(2)}, daily fast path ${(m / q).toFixed(2)} (walk ${(m / w).toFixed(2)})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
