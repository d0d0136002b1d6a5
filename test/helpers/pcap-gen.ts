// Writes a capture file (classic pcap or pcapng) of N mixed packets, deterministically from a seed, and
// returns the exact counters `tidewatch analyze --json` must report for it (the ground truth), plus the
// counts tcpdump must give for equivalent filters. Streams in 4 MiB chunks: 5 million packets are fine.
//
//   node dist/test/helpers/pcap-gen.js --out FILE --count 5000000 [--seed 1] [--pcapng] [--clean]
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  arp,
  ether,
  icmp,
  ipv4,
  ipv6,
  LINUX_SYN_OPTIONS,
  sll,
  sll2,
  tcp,
  udp,
  type Ipv6Ext,
} from './pcap-frames.js';

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

export interface TruthRow {
  day: string;
  proto: string;
  dst_port: number | null;
  dst_ip: string;
  src_ip: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

export interface GroundTruth {
  packets: number;
  malformed: number;
  tcp: { all: Record<string, number>; syn: Record<string, number> };
  udp: Record<string, number>;
  ip_protocols: Record<string, number>;
  ethertypes: Record<string, number>;
  sources: number;
  daily: TruthRow[];
  /** tcpdump filter -> packets it must match (only exact for clean files). */
  tcpdump: Record<string, number>;
  bytes: number;
}

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TCP_PORTS = [21, 22, 23, 25, 80, 83, 443, 445, 3306, 3389, 5900, 8080, 8338, 8339];
const UDP_PORTS = [53, 123, 137, 161, 500, 1900, 5060, 11211];
const SRC4 = Array.from({ length: 1000 }, (_, i) => `198.18.${1 + (i >> 8)}.${i & 255}`).concat([
  '10.1.2.3',
  '172.20.0.9',
  '192.168.7.7',
  '27.0.0.1',
]);
const DST4 = ['198.19.0.1', '198.19.0.2', '198.19.0.3', '198.19.0.4'];
const SRC6 = Array.from({ length: 200 }, (_, i) => `2001:2::${(i + 0x100).toString(16)}`);
const DST6 = ['2001:2:0:1::1', '2001:2:0:1::2'];

type Kind =
  | 'syn4'
  | 'ecnSyn4'
  | 'tcpOther4'
  | 'scan4'
  | 'udp4'
  | 'icmp4'
  | 'syn6'
  | 'udp6'
  | 'icmp6'
  | 'other4'
  | 'other6'
  | 'frag4'
  | 'frag6'
  | 'nonIp'
  | 'malformed';
const WEIGHTS: [Kind, number][] = [
  ['syn4', 28],
  ['ecnSyn4', 4],
  ['tcpOther4', 12],
  ['scan4', 2],
  ['udp4', 16],
  ['icmp4', 6],
  ['syn6', 5],
  ['udp6', 4],
  ['icmp6', 3],
  ['other4', 3],
  ['other6', 1],
  ['frag4', 4],
  ['frag6', 1],
  ['nonIp', 6],
  ['malformed', 5],
];

/** What one generated packet must do to the counters. */
interface Effect {
  malformed: boolean;
  ethertype: number;
  vlans: number;
  v: 0 | 4 | 6;
  proto: number;
  later: boolean;
  ports: boolean;
  dport: number;
  flags: number;
  /** Transport payload bytes (what a snap length may cut without harm). */
  tail: number;
  src: string;
  dst: string;
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

/** Builds one packet: the network-layer bytes (or a whole link frame for malformed/non-IP) and its effect. */
class PacketMaker {
  private readonly kinds: Kind[] = [];
  constructor(
    private readonly r: () => number,
    private readonly clean: boolean,
    private readonly ipOnly: boolean,
  ) {
    for (const [k, w] of WEIGHTS) {
      if (clean && (k === 'frag6' || k === 'malformed')) continue;
      if (ipOnly && k === 'nonIp') continue;
      for (let i = 0; i < w; i++) this.kinds.push(k);
    }
  }

  private pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.r() * a.length)]!;
  }
  private port(list: number[]): number {
    return this.r() < 0.7 ? this.pick(list) : Math.floor(this.r() * 65536);
  }
  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) b[i] = Math.floor(this.r() * 256);
    return b;
  }
  private ext(): Ipv6Ext[] {
    if (this.clean || this.r() < 0.7) return [];
    return this.pick([[{ type: 0 }], [{ type: 60 }], [{ type: 0 }, { type: 43 }], [{ type: 51 }]]);
  }

  /** Returns [ethertype or -1 for a whole frame, bytes, effect]. */
  make(): [number, Buffer, Effect] {
    const r = this.r;
    const kind = this.pick(this.kinds);
    const e: Effect = {
      malformed: false,
      ethertype: 0x0800,
      vlans: 0,
      v: 4,
      proto: 0,
      later: false,
      ports: false,
      dport: 0,
      flags: 0,
      tail: 0,
      src: '',
      dst: '',
    };
    const v4 = (): void => {
      e.src = this.pick(SRC4);
      e.dst = this.pick(DST4);
    };
    const v6 = (): void => {
      e.v = 6;
      e.ethertype = 0x86dd;
      e.src = this.pick(SRC6);
      e.dst = this.pick(DST6);
    };
    const ttl = 32 + Math.floor(r() * 200);
    const id = Math.floor(r() * 65536);
    const seg = (flags: number, opts = true, payload = 0): Buffer => {
      e.proto = 6;
      e.ports = true;
      e.flags = flags;
      e.tail = payload;
      e.dport = this.port(TCP_PORTS);
      return tcp({
        sport: 1024 + Math.floor(r() * 60000),
        dport: e.dport,
        flags,
        seq: Math.floor(r() * 2 ** 32),
        options: opts ? LINUX_SYN_OPTIONS : undefined,
        payload: this.bytes(payload),
      });
    };
    const dgram = (): Buffer => {
      e.proto = 17;
      e.ports = true;
      e.dport = this.port(UDP_PORTS);
      e.tail = Math.floor(r() * 97);
      return udp({ sport: 1024 + Math.floor(r() * 60000), dport: e.dport, payload: this.bytes(e.tail) });
    };
    const ip4 = (proto: number, payload: Buffer, more: Partial<Parameters<typeof ipv4>[0]> = {}): Buffer =>
      ipv4({ src: e.src, dst: e.dst, proto, payload, ttl, id, ...more });
    const ip6 = (nh: number, payload: Buffer, ext = this.ext()): Buffer =>
      ipv6({ src: e.src, dst: e.dst, nextHeader: nh, payload, hopLimit: ttl, ext });
    switch (kind) {
      case 'syn4':
        v4();
        return [0x0800, ip4(6, seg(0x02)), e];
      case 'ecnSyn4':
        v4();
        return [0x0800, ip4(6, seg(0xc2)), e];
      case 'tcpOther4': {
        v4();
        const flags = this.pick([0x10, 0x12, 0x04, 0x14, 0x11, 0x18, 0x52]);
        return [0x0800, ip4(6, seg(flags, false, flags === 0x18 ? 1 + Math.floor(r() * 200) : 0)), e];
      }
      case 'scan4':
        v4();
        return [0x0800, ip4(6, seg(this.pick([0x00, 0x01, 0x29]), false)), e];
      case 'udp4':
        v4();
        return [0x0800, ip4(17, dgram()), e];
      case 'icmp4':
        v4();
        e.proto = 1;
        return [
          0x0800,
          ip4(1, icmp({ type: this.pick([8, 0, 3, 11]), payload: this.bytes(Math.floor(r() * 56)) })),
          e,
        ];
      case 'syn6':
        v6();
        return [0x86dd, ip6(6, seg(r() < 0.2 ? 0xc2 : 0x02)), e];
      case 'udp6':
        v6();
        return [0x86dd, ip6(17, dgram()), e];
      case 'icmp6':
        v6();
        e.proto = 58;
        return [0x86dd, ip6(58, icmp({ type: this.pick([128, 129, 135, 136]) })), e];
      case 'other4':
        v4();
        e.proto = this.pick([47, 50, 132, 253, 89]);
        return [0x0800, ip4(e.proto, this.bytes(4 + Math.floor(r() * 60))), e];
      case 'other6':
        v6();
        e.proto = this.pick([47, 50, 132, 59]);
        return [0x86dd, ip6(e.proto, e.proto === 59 ? Buffer.alloc(0) : this.bytes(20)), e];
      case 'frag4': {
        v4();
        if (r() < 0.5) {
          // First fragment: carries the transport header (UDP length counts the whole datagram).
          if (r() < 0.5) return [0x0800, ip4(6, seg(0x02), { mf: true }), e];
          const d = dgram();
          d.writeUInt16BE(1400, 4);
          return [0x0800, ip4(17, d, { mf: true }), e];
        }
        e.later = true;
        e.proto = this.pick([6, 17]);
        return [
          0x0800,
          ip4(e.proto, this.bytes(64), { fragOffset: 1 + Math.floor(r() * 100), mf: r() < 0.5 }),
          e,
        ];
      }
      case 'frag6': {
        v6();
        if (r() < 0.5) {
          const d = dgram();
          d.writeUInt16BE(3000, 4);
          return [0x86dd, ip6(17, d, [{ type: 44, mf: true }]), e];
        }
        e.later = true;
        e.proto = 17;
        return [0x86dd, ip6(17, this.bytes(48), [{ type: 44, fragOffset: 1 + Math.floor(r() * 100) }]), e];
      }
      case 'nonIp': {
        e.v = 0;
        const t = this.pick([0x0806, 0x0806, 0x88cc, 0x88b5, 0x0004]);
        e.ethertype = t;
        return [t, t === 0x0806 ? arp() : this.bytes(46), e];
      }
      case 'malformed':
        e.malformed = true;
        return this.malformed(e);
    }
  }

  private malformed(e: Effect): [number, Buffer, Effect] {
    const src = this.pick(SRC4);
    const dst = this.pick(DST4);
    const s = tcp({ sport: 1, dport: 80, flags: 2 });
    const choice = Math.floor(this.r() * 9);
    switch (choice) {
      case 0:
        return [0x0800, ipv4({ src, dst, proto: 6, payload: s, ihlWords: 4 }), e];
      case 1:
        return [0x0800, ipv4({ src, dst, proto: 6, payload: s, totalLength: 400 }), e];
      case 2:
        return [
          0x0800,
          ipv4({ src, dst, proto: 6, payload: tcp({ sport: 1, dport: 80, flags: 2, dataOffsetWords: 3 }) }),
          e,
        ];
      case 3:
        return [
          0x0800,
          ipv4({ src, dst, proto: 17, payload: udp({ sport: 1, dport: 53, length: 5000 }) }),
          e,
        ];
      case 4:
        return [0x0800, ipv4({ src, dst, proto: 1, payload: Buffer.alloc(2) }), e];
      case 5:
        return [0x0800, ipv4({ src, dst, proto: 6, payload: s, version: 6 }), e];
      case 6:
        return [
          0x86dd,
          ipv6({
            src: SRC6[0]!,
            dst: DST6[0]!,
            nextHeader: 17,
            payload: udp({ sport: 1, dport: 2 }),
            payloadLength: 900,
          }),
          e,
        ];
      case 7:
        return [0x0800, ipv4({ src, dst, proto: 6, payload: Buffer.alloc(12) }), e];
      default:
        // Cut inside the IPv4 header on the wire.
        return [0x0800, ipv4({ src, dst, proto: 6, payload: s }).subarray(0, 12), e];
    }
  }
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
