// The packet mix of the capture generator: which kinds of packets, with which addresses and ports, and
// what each must do to the counters (its Effect). pcap-gen.ts writes them and sums the ground truth.
import { arp, icmp, ipv4, ipv6, LINUX_SYN_OPTIONS, tcp, udp, type Ipv6Ext } from './pcap-frames.js';

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
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
export interface Effect {
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

/** Builds one packet: the network-layer bytes (or a whole link frame for malformed/non-IP) and its effect. */
export class PacketMaker {
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
