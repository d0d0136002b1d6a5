// A bounded crafted-packet sender's input: a classic pcap of SYN sweeps from spoofed IPv4 sources (each source
// sends one SYN to each of `ports` ports, then is never seen again), with valid IPv4 and TCP checksums, for
// tcpreplay to send at a fixed rate from the scanner namespace. Deterministic from a seed.
import { closeSync, openSync, writeSync } from 'node:fs';
import { ether, ipv4, pcapHeader, tcp } from './pcap-frames.js';

export interface SweepOptions {
  /** Spoofed sources (each one new), drawn from 198.19.0.0/16 (test range, never a test bed host). */
  sources: number;
  /** Destination ports per source (first..first+ports-1); 16 crosses the default --scan-ports of 15. */
  ports: number;
  firstPort: number;
  dst: string;
  seed?: number;
}

const TCP_SYN = 0x02;

/** Internet checksum (RFC 1071) over buf, starting from `sum`. */
function checksum(buf: Buffer, sum = 0): number {
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length & 1) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function synPacket(src: string, dst: string, sport: number, dport: number, seq: number): Buffer {
  const seg = tcp({ sport, dport, flags: TCP_SYN, seq, window: 1024 });
  const pseudo = Buffer.alloc(12);
  Buffer.from(src.split('.').map(Number)).copy(pseudo, 0);
  Buffer.from(dst.split('.').map(Number)).copy(pseudo, 4);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(seg.length, 10);
  seg.writeUInt16BE(checksum(Buffer.concat([pseudo, seg])), 16);
  const ip = ipv4({ src, dst, proto: 6, payload: seg, ttl: 57, id: seq & 0xffff });
  ip.writeUInt16BE(checksum(ip.subarray(0, 20)), 10);
  return ether(0x0800, ip);
}

/** Writes the sweeps to `file`; returns the sources used and the packet count. */
export function writeSpoofedSweeps(file: string, o: SweepOptions): { sources: string[]; packets: number } {
  if (o.sources > 65_000) throw new Error('at most 65,000 spoofed sources (one /16)');
  let x = o.seed ?? 1;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const fd = openSync(file, 'w');
  writeSync(fd, pcapHeader());
  const sources: string[] = [];
  const used = new Set<number>();
  let packets = 0;
  try {
    while (sources.length < o.sources) {
      const host = next() >>> 16;
      if (used.has(host) || (host & 255) === 0 || (host & 255) === 255) continue;
      used.add(host);
      const src = `198.19.${host >> 8}.${host & 255}`;
      sources.push(src);
      const frames: Buffer[] = [];
      for (let p = 0; p < o.ports; p++) {
        const frame = synPacket(src, o.dst, 1024 + (next() % 60000), o.firstPort + p, next());
        const rec = Buffer.alloc(16);
        rec.writeUInt32LE(packets, 0); // tcpreplay --pps ignores these times
        rec.writeUInt32LE(frame.length, 8);
        rec.writeUInt32LE(frame.length, 12);
        frames.push(rec, frame);
        packets++;
      }
      writeSync(fd, Buffer.concat(frames));
    }
  } finally {
    closeSync(fd);
  }
  return { sources, packets };
}
