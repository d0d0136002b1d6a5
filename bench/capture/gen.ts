// Writes a classic pcap of N mixed frames for the capture benchmark (deterministic, seeded): IPv4 TCP SYN
// with options (some ECN SYNs), TCP ACKs, UDP, ICMP echo, IPv6 TCP SYN, 802.1Q-tagged TCP and ARP.
// Usage: node dist/bench/capture/gen.js FILE N
import { openSync, writeSync, closeSync } from 'node:fs';

function csum(b: Buffer, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len - 1; i += 2) s += b.readUInt16BE(off + i);
  if (len & 1) s += b[off + len - 1]! << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

let seed = 0x2545f491;
const rnd = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const ri = (n: number): number => Math.floor(rnd() * n);

const SYN_OPTS = Buffer.from([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);

/** One frame into out at off; returns its length. */
function frame(out: Buffer, off: number, kind: number): number {
  const eth = off;
  out.fill(0, off, off + 128);
  Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]).copy(out, eth);
  let p = eth + 12;
  if (kind === 6) {
    out.writeUInt16BE(0x8100, p);
    out.writeUInt16BE(42, p + 2);
    p += 4;
  }
  if (kind === 7) {
    out.writeUInt16BE(0x0806, p);
    Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]).copy(out, p + 2);
    return p + 2 + 28 - off;
  }
  if (kind === 5) {
    out.writeUInt16BE(0x86dd, p);
    const ip = p + 2;
    out.writeUInt32BE(0x60000000, ip);
    out.writeUInt16BE(20, ip + 4);
    out[ip + 6] = 6;
    out[ip + 7] = 64;
    out.writeUInt32BE(0x20010002, ip + 8);
    out.writeUInt32BE(ri(65536), ip + 20);
    out.writeUInt32BE(0x20010002, ip + 24);
    out[ip + 39] = 1;
    const t = ip + 40;
    out.writeUInt16BE(1024 + ri(60000), t);
    out.writeUInt16BE(ri(1024), t + 2);
    out[t + 12] = 5 << 4;
    out[t + 13] = 0x02;
    out.writeUInt16BE(1024, t + 14);
    return t + 20 - off;
  }
  out.writeUInt16BE(0x0800, p);
  const ip = p + 2;
  out[ip] = 0x45;
  out[ip + 8] = 64;
  out.writeUInt16BE(ri(65536), ip + 4);
  out[ip + 12] = 198;
  out[ip + 13] = 18;
  out[ip + 14] = ri(256);
  out[ip + 15] = ri(256);
  out[ip + 16] = 198;
  out[ip + 17] = 19;
  out[ip + 18] = 0;
  out[ip + 19] = ri(16);
  const l4 = ip + 20;
  let l4len: number;
  if (kind <= 1 || kind === 6) {
    out[ip + 9] = 6;
    out.writeUInt16BE(1024 + ri(60000), l4);
    out.writeUInt16BE(ri(1024), l4 + 2);
    out.writeUInt32BE(ri(2 ** 32), l4 + 4);
    const syn = kind !== 1;
    const hl = syn ? 40 : 20;
    out[l4 + 12] = (hl / 4) << 4;
    out[l4 + 13] = syn ? (ri(10) === 0 ? 0xc2 : 0x02) : 0x10;
    out.writeUInt16BE(64240, l4 + 14);
    if (syn) SYN_OPTS.copy(out, l4 + 20);
    l4len = hl;
  } else if (kind === 2 || kind === 3) {
    out[ip + 9] = 17;
    const pl = 12 + ri(84);
    out.writeUInt16BE(1024 + ri(60000), l4);
    out.writeUInt16BE([53, 123, 161, 1900, 5060][ri(5)]!, l4 + 2);
    out.writeUInt16BE(8 + pl, l4 + 4);
    l4len = 8 + pl;
  } else {
    out[ip + 9] = 1;
    out[l4] = 8;
    out.writeUInt16BE(ri(65536), l4 + 4);
    l4len = 8 + 32;
  }
  out.writeUInt16BE(20 + l4len, ip + 2);
  out.writeUInt16BE(csum(out, ip, 20), ip + 10);
  return l4 + l4len - off;
}

// Mix: 45% IPv4 SYN, 10% ACK, 25% UDP, 10% ICMP, 5% IPv6 SYN, 3% VLAN SYN, 2% ARP.
const KINDS = [
  ...Array<number>(45).fill(0),
  ...Array<number>(10).fill(1),
  ...Array<number>(25).fill(2),
  ...Array<number>(10).fill(4),
  ...Array<number>(5).fill(5),
  ...Array<number>(3).fill(6),
  ...Array<number>(2).fill(7),
];

export function generate(file: string, n: number): void {
  const fd = openSync(file, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  const chunk = Buffer.alloc(8 << 20);
  let off = 0;
  const t0 = 1_700_000_000;
  for (let i = 0; i < n; i++) {
    if (off > chunk.length - 256) {
      writeSync(fd, chunk, 0, off);
      off = 0;
    }
    const len = frame(chunk, off + 16, KINDS[ri(KINDS.length)]!);
    chunk.writeUInt32LE(t0 + Math.floor(i / 100_000), off);
    chunk.writeUInt32LE((i % 100_000) * 10, off + 4);
    chunk.writeUInt32LE(len, off + 8);
    chunk.writeUInt32LE(len, off + 12);
    off += 16 + len;
  }
  writeSync(fd, chunk, 0, off);
  closeSync(fd);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [file, n] = process.argv.slice(2);
  if (!file || !n) {
    process.stderr.write('usage: gen.js FILE N\n');
    process.exit(2);
  }
  generate(file, Number(n));
}
