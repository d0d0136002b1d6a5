// Writes a capture file (classic pcap or pcapng) of N mixed packets, deterministically from a seed, and
// returns the exact counters `tidewatch analyze --json` must report for it (the ground truth), plus the
// counts tcpdump must give for equivalent filters. Streams in 4 MiB chunks: 5 million packets are fine.
//
//   node dist/test/helpers/pcap-gen.js --out FILE --count 5000000 [--seed 1] [--pcapng] [--clean]
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ether, sll, sll2 } from './pcap-frames.js';
import { PacketMaker, rng, type Effect } from './pcap-mix.js';
import type { PacketCounts } from '../../src/core/events.js';
import type { DailyRow } from '../../src/daily/table.js';

export interface GenOptions {
  seed?: number;
  count: number;
  format?: 'pcap' | 'pcapng';
  /** 1 Ethernet (VLAN, QinQ, non-IP), 113 SLL, 276 SLL2 (non-IP, no VLAN), 101 raw IP (IP only). */
  linktype?: 1 | 113 | 276 | 101;
  /**
   * Only what tcpdump filters can count the same way: no malformed frames, no IPv6 extension headers or
   * IPv6 fragments (tcpdump's `udp`/`icmp6` do not walk them). Default false.
   */
  clean?: boolean;
  /** First packet time, unix seconds; default 2026-11-20 23:50:00 UTC so the file crosses UTC midnight. */
  startSec?: number;
  spanSec?: number;
  /** Keep per-row ground truth for `daily` (memory grows with rows); default count <= 2,000,000. */
  daily?: boolean;
  /** Cut the last record in the middle of its data (a file cut off mid-packet). */
  truncateLast?: boolean;
}

/** A ground-truth row: the same shape as the daily table's rows (with their UTC day). */
export type TruthRow = DailyRow;

export interface GroundTruth extends PacketCounts {
  sources: number;
  daily: TruthRow[];
  /** tcpdump filter -> packets it must match (only exact for clean files). */
  tcpdump: Record<string, number>;
  bytes: number;
}

class Truth {
  packets = 0;
  malformed = 0;
  tcpAll = new Map<number, number>();
  tcpSyn = new Map<number, number>();
  udp = new Map<number, number>();
  ipProto = new Map<number, number>();
  ether = new Map<number, number>();
  sources = new Set<string>();
  rows = new Map<string, TruthRow>();
  tcpdump = new Map<string, number>();

  constructor(private readonly keepRows: boolean) {}

  private static inc<K>(m: Map<K, number>, k: K): void {
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  private dump(filter: string, vlans: number): void {
    Truth.inc(this.tcpdump, 'vlan and '.repeat(vlans) + filter);
  }

  add(e: Effect, sec: number): void {
    this.packets++;
    Truth.inc(this.tcpdump, '');
    if (e.malformed) {
      this.malformed++;
      return;
    }
    Truth.inc(this.ether, e.ethertype);
    if (e.ethertype === 0x0806) this.dump('arp', e.vlans);
    if (e.v === 0) return;
    this.dump(e.v === 4 ? 'ip' : 'ip6', e.vlans);
    Truth.inc(this.ipProto, e.proto);
    if (e.proto === 17) this.dump('udp', e.vlans);
    // The transport filters: tcpdump reads IPv4 ports only from first fragments, as the counters do.
    if (e.proto === 17 && e.ports)
      this.dump(e.v === 4 ? 'ip and udp and ip[6:2]&0x1fff==0' : 'ip6 and udp', e.vlans);
    if (e.proto === 17 && e.ports && (e.dport === 53 || e.dport === 123))
      this.dump(`udp dst port ${e.dport}`, e.vlans);
    if (e.proto === 1 && e.v === 4) this.dump('icmp', e.vlans);
    if (e.proto === 58 && e.v === 6) this.dump('icmp6', e.vlans);
    if (!e.ports) return;
    const syn = (e.flags & 0x12) === 0x02;
    if (e.proto === 6) {
      Truth.inc(this.tcpAll, e.dport);
      if (!syn) return;
      Truth.inc(this.tcpSyn, e.dport);
      this.sources.add(e.src);
      this.dump(e.v === 4 ? 'tcp[13]&0x12==0x02' : 'ip6 and ip6[6]==6 and ip6[53]&0x12==0x02', e.vlans);
      if (e.v === 4 && (e.dport === 83 || e.dport === 8338))
        this.dump(`tcp dst port ${e.dport} and tcp[13]&0x12==0x02`, e.vlans);
    } else Truth.inc(this.udp, e.dport);
    if (!this.keepRows) return;
    const day = new Date(sec * 1000).toISOString().slice(0, 10);
    const proto = e.proto === 6 ? 'TCP' : 'UDP';
    const key = `${day} ${proto} ${e.dport} ${e.dst} ${e.src}`;
    const r = this.rows.get(key);
    if (r) {
      r.last_seen = sec;
      r.count++;
    } else
      this.rows.set(key, {
        day,
        proto,
        dst_port: e.dport,
        dst_ip: e.dst,
        src_ip: e.src,
        first_seen: sec,
        last_seen: sec,
        count: 1,
      });
  }

  result(bytes: number): GroundTruth {
    const obj = (m: Map<number, number>, key = (k: number): string => String(k)): Record<string, number> =>
      Object.fromEntries([...m].sort((a, b) => a[0] - b[0]).map(([k, v]) => [key(k), v]));
    return {
      packets: this.packets,
      malformed: this.malformed,
      tcp: { all: obj(this.tcpAll), syn: obj(this.tcpSyn) },
      udp: obj(this.udp),
      ip_protocols: obj(this.ipProto),
      ethertypes: obj(this.ether, (k) => '0x' + k.toString(16).padStart(4, '0')),
      sources: this.sources.size,
      daily: sortRows([...this.rows.values()]),
      tcpdump: Object.fromEntries(this.tcpdump),
      bytes,
    };
  }
}

export function sortRows<T extends TruthRow>(rows: T[]): T[] {
  const k = (r: TruthRow): string => `${r.day} ${r.proto} ${r.dst_port} ${r.dst_ip} ${r.src_ip}`;
  return rows.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

class ChunkWriter {
  private buf = Buffer.alloc(4 << 20);
  private pos = 0;
  written = 0;
  constructor(private readonly fd: number) {}
  reserve(n: number): [Buffer, number] {
    if (this.pos + n > this.buf.length) this.flush();
    if (n > this.buf.length) this.buf = Buffer.alloc(n);
    const at = this.pos;
    this.pos += n;
    return [this.buf, at];
  }
  /** Drops the last n reserved bytes (for a file cut mid-packet). */
  unreserve(n: number): void {
    this.pos -= n;
  }
  flush(): void {
    let o = 0;
    while (o < this.pos) o += writeSync(this.fd, this.buf, o, this.pos - o);
    this.written += this.pos;
    this.pos = 0;
  }
}

const linkLen = (lt: number, vlans: number): number =>
  lt === 1 ? 14 + 4 * vlans : lt === 113 ? 16 : lt === 276 ? 20 : 0;

function wrap(lt: number, type: number, net: Buffer, vlans: number[]): Buffer {
  if (lt === 1) return ether(type, net, vlans);
  if (lt === 113) return sll(type, net);
  if (lt === 276) return sll2(type, net);
  return net;
}

export function writeCapture(file: string, o: GenOptions): GroundTruth {
  const r = rng(o.seed ?? 1);
  const lt = o.linktype ?? 1;
  const clean = o.clean ?? false;
  const pcapng = o.format === 'pcapng';
  const startUs = (o.startSec ?? Date.UTC(2026, 10, 20, 23, 50) / 1000) * 1e6;
  const stepUs = Math.floor(((o.spanSec ?? 1200) * 1e6) / Math.max(1, o.count));
  const truth = new Truth(o.daily ?? o.count <= 2_000_000);
  const maker = new PacketMaker(r, clean, lt === 101);
  const fd = openSync(file, 'w');
  const w = new ChunkWriter(fd);
  try {
    if (pcapng) {
      const [b, at] = w.reserve(28 + 20);
      b.writeUInt32LE(0x0a0d0d0a, at);
      b.writeUInt32LE(28, at + 4);
      b.writeUInt32LE(0x1a2b3c4d, at + 8);
      b.writeUInt16LE(1, at + 12);
      b.writeUInt16LE(0, at + 14);
      b.writeInt32LE(-1, at + 16);
      b.writeInt32LE(-1, at + 20);
      b.writeUInt32LE(28, at + 24);
      b.writeUInt32LE(1, at + 28);
      b.writeUInt32LE(20, at + 32);
      b.writeUInt16LE(lt, at + 36);
      b.writeUInt16LE(0, at + 38);
      b.writeUInt32LE(262144, at + 40);
      b.writeUInt32LE(20, at + 44);
    } else {
      const [b, at] = w.reserve(24);
      b.writeUInt32LE(0xa1b2c3d4, at);
      b.writeUInt16LE(2, at + 4);
      b.writeUInt16LE(4, at + 6);
      b.writeUInt32LE(0, at + 8);
      b.writeUInt32LE(0, at + 12);
      b.writeUInt32LE(262144, at + 16);
      b.writeUInt32LE(lt, at + 20);
    }
    for (let i = 0; i < o.count; i++) {
      const us = startUs + i * stepUs;
      const sec = Math.floor(us / 1e6);
      const [type, net, e] = maker.make();
      let frame: Buffer;
      if (e.malformed && lt === 1 && r() < 0.25) {
        frame =
          r() < 0.5 ? Buffer.alloc(Math.floor(r() * 14)) : ether(0x8100, Buffer.alloc(2)).subarray(0, 16);
      } else {
        const vr = lt === 1 && !e.malformed ? r() : 1;
        const vlans = vr < 0.08 ? [0x8100] : vr < 0.12 ? [0x88a8, 0x8100] : [];
        e.vlans = vlans.length;
        frame = wrap(lt, type, net, vlans);
        // Ethernet pads short frames to 60 bytes: the IP length, not the frame's, ends the packet.
        if (lt === 1 && !e.malformed && frame.length < 60)
          frame = Buffer.concat([frame, Buffer.alloc(60 - frame.length)]);
      }
      let caplen = frame.length;
      // Some frames are cut by the snap length inside their transport payload: still counted in full.
      if (!e.malformed && e.tail > 0 && r() < 0.03)
        caplen = linkLen(lt, e.vlans) + net.length - Math.min(e.tail, 8);
      const last = i === o.count - 1 && o.truncateLast;
      // A packet cut off mid-record is not read at all.
      if (!last) truth.add(e, sec);
      if (pcapng) {
        const padded = (caplen + 3) & ~3;
        const [b, at] = w.reserve(32 + padded);
        b.writeUInt32LE(6, at);
        b.writeUInt32LE(32 + padded, at + 4);
        b.writeUInt32LE(0, at + 8);
        b.writeUInt32LE(Math.floor(us / 2 ** 32), at + 12);
        b.writeUInt32LE(us % 2 ** 32, at + 16);
        b.writeUInt32LE(caplen, at + 20);
        b.writeUInt32LE(frame.length, at + 24);
        frame.copy(b, at + 28, 0, caplen);
        b.fill(0, at + 28 + caplen, at + 28 + padded);
        b.writeUInt32LE(32 + padded, at + 28 + padded);
        if (last) w.unreserve(padded - Math.floor(caplen / 2) + 4);
      } else {
        const [b, at] = w.reserve(16 + caplen);
        b.writeUInt32LE(sec, at);
        b.writeUInt32LE(us % 1e6, at + 4);
        b.writeUInt32LE(caplen, at + 8);
        b.writeUInt32LE(frame.length, at + 12);
        frame.copy(b, at + 16, 0, caplen);
        if (last) w.unreserve(caplen - Math.floor(caplen / 2));
      }
    }
    w.flush();
  } finally {
    closeSync(fd);
  }
  return truth.result(w.written);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const out = arg('out');
  if (!out) {
    process.stderr.write(
      'usage: pcap-gen --out FILE [--count N] [--seed S] [--pcapng] [--clean] [--linktype 1|113|276|101]\n',
    );
    process.exit(2);
  }
  const t0 = process.hrtime.bigint();
  const truth = writeCapture(out, {
    count: Number(arg('count') ?? 1_000_000),
    seed: Number(arg('seed') ?? 1),
    format: process.argv.includes('--pcapng') ? 'pcapng' : 'pcap',
    clean: process.argv.includes('--clean'),
    linktype: Number(arg('linktype') ?? 1) as 1,
    daily: false,
  });
  const { daily: _d, ...summary } = truth;
  process.stdout.write(
    JSON.stringify({ ...summary, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }) + '\n',
  );
}
