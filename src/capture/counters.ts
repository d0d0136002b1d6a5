// Counts decoded batches (the batch contract below) into typed arrays, and turns TCP connection attempts
// and UDP datagrams into probe events. Per packet it allocates nothing unless onProbe is set.
//
// Batch contract (produced by the libpcap addon and the offline reader): `count` records in one Buffer;
// record i starts 8-byte aligned: u32 tsSec, u32 tsUsec, u32 caplen, u32 origLen (little-endian), then
// caplen bytes of the frame; the next record starts at align8(offset + 16 + caplen).
import type { PacketCounts, ProbeEvent, ProbeKind } from '../core/events.js';
import { formatAddress, isPrivateV4, isPrivateV6, v4At } from '../core/addresses.js';
import { isConnectionAttempt, tcpProbeKind } from '../core/tcp-flags.js';
import { AddressSet } from './addresses.js';
import { Decoded, decodeFrame, IPPROTO_TCP, tcpOptions } from './decode/index.js';

export const RECORD_HEADER_BYTES = 16;
/** Rounds up to a multiple of 8; exact for any safe integer (no 32-bit wrap of `& ~7` on large buffers). */
export const align8 = (n: number): number => n + ((8 - (n & 7)) & 7);

/** `packets` is every frame handed in: counted + ignored + malformed. */
export interface CounterSnapshot extends PacketCounts {
  /** Frames left out on purpose: the host's own, --exclude-private sources, not to an --only-dst address. */
  ignored: number;
}

/**
 * Takes connection attempts and datagrams straight from the decoder, without a probe event (DailyTable
 * implements it). addV4 gets unsigned IPv4 addresses, addRow the text of IPv6 ones; times in unix seconds.
 */
export interface DailySink {
  addV4(tcp: boolean, dport: number, dst: number, src: number, tsSec: number): unknown;
  addRow(proto: string, dport: number, dst: string, src: string, tsSec: number): unknown;
}

export interface PacketCountersOptions {
  excludePrivate: boolean;
  onlyDst: string[];
  onProbe?: (p: ProbeEvent) => void;
  /**
   * Gets every TCP connection attempt (SYN without ACK) and UDP datagram, exactly what DailyTable.add()
   * would keep of the probe events, at a fraction of the cost (analyze uses it).
   */
  daily?: DailySink;
}

const V4_TEXT_CACHE = 65536;
const V6_TEXT_CACHE = 16384;

class Tables {
  tcpAll = new Float64Array(65536);
  tcpSyn = new Float64Array(65536);
  udp = new Float64Array(65536);
  ipProto = new Float64Array(256);
  ether = new Float64Array(65536);
  packets = 0;
  malformed = 0;
  ignored = 0;

  copyFrom(o: Tables): void {
    this.tcpAll.set(o.tcpAll);
    this.tcpSyn.set(o.tcpSyn);
    this.udp.set(o.udp);
    this.ipProto.set(o.ipProto);
    this.ether.set(o.ether);
    this.packets = o.packets;
    this.malformed = o.malformed;
    this.ignored = o.ignored;
  }
}

/**
 * What the per-packet loop increments: Uint32 halves the cache footprint of Float64 (4 x 256 KiB instead
 * of 4 x 512 KiB, random port indexes miss the cache less). Folded into the Float64 totals before any
 * entry could wrap (after at most 2^32 - 1 packets) and whenever a snapshot is taken.
 */
class HotTables {
  tcpAll = new Uint32Array(65536);
  tcpSyn = new Uint32Array(65536);
  udp = new Uint32Array(65536);
  ipProto = new Uint32Array(256);
  ether = new Uint32Array(65536);
  /** Packets counted since the last fold: no entry can exceed it. */
  sinceFold = 0;

  foldInto(t: Tables): void {
    addAndClear(this.tcpAll, t.tcpAll);
    addAndClear(this.tcpSyn, t.tcpSyn);
    addAndClear(this.udp, t.udp);
    addAndClear(this.ipProto, t.ipProto);
    addAndClear(this.ether, t.ether);
    this.sinceFold = 0;
  }
}

function addAndClear(from: Uint32Array, to: Float64Array): void {
  for (let i = 0; i < from.length; i++) {
    const v = from[i]!;
    if (v !== 0) {
      to[i] = to[i]! + v;
      from[i] = 0;
    }
  }
}

function sparse(
  a: Float64Array,
  base: Float64Array | null,
  key: (i: number) => string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < a.length; i++) {
    const v = a[i]! - (base ? base[i]! : 0);
    if (v !== 0) out[key(i)] = v;
  }
  return out;
}

const portKey = (i: number): string => String(i);
const etherKey = (i: number): string => '0x' + i.toString(16).padStart(4, '0');

export class PacketCounters {
  private readonly t = new Tables();
  private readonly hot = new HotTables();
  /** The totals at the previous takeInterval(). */
  private readonly last = new Tables();
  private readonly d = new Decoded();
  private readonly own = new AddressSet();
  private readonly onlyDst: AddressSet;
  private readonly excludePrivate: boolean;
  private readonly onProbe: ((p: ProbeEvent) => void) | undefined;
  private readonly daily: DailySink | undefined;
  private readonly v4Text = new Map<number, string>();
  private readonly v6Text = new Map<
    number,
    { w0: number; w1: number; w2: number; w3: number; text: string }
  >();
  /** Some address filter is set: without one, the per-packet filter call is skipped. */
  private filtering: boolean;
  /** Probe events whose subscriber threw. */
  probeErrors = 0;

  constructor(opts: PacketCountersOptions) {
    this.excludePrivate = opts.excludePrivate;
    this.onlyDst = new AddressSet(opts.onlyDst);
    this.onProbe = opts.onProbe;
    this.daily = opts.daily;
    this.filtering = this.excludePrivate || this.onlyDst.size > 0;
  }

  /** The host's own addresses: packets FROM them are its outgoing traffic, never counted as incoming. */
  setOwnAddresses(addrs: string[]): void {
    this.own.replace(addrs);
    this.filtering = this.own.size > 0 || this.excludePrivate || this.onlyDst.size > 0;
  }

  addBatch(buf: Buffer, count: number, linktype: number): void {
    const t = this.t;
    const h = this.hot;
    if (h.sinceFold + count > 0xffffffff) h.foldInto(t);
    h.sinceFold += count;
    const d = this.d;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const size = buf.length;
    let off = 0;
    for (let i = 0; i < count; i++) {
      t.packets++;
      if (off + RECORD_HEADER_BYTES > size) {
        // A batch shorter than its count says: the rest cannot be read; count it rather than lose it.
        t.malformed += count - i;
        t.packets += count - i - 1;
        return;
      }
      const caplen = dv.getUint32(off + 8, true);
      const origLen = dv.getUint32(off + 12, true);
      const start = off + RECORD_HEADER_BYTES;
      if (caplen > size - start) {
        t.malformed += count - i;
        t.packets += count - i - 1;
        return;
      }
      off = align8(start + caplen);
      if (caplen > origLen || !decodeFrame(d, buf, start, caplen, origLen, linktype)) {
        t.malformed++;
        continue;
      }
      if ((this.filtering || d.outgoing) && this.isIgnored(buf)) {
        t.ignored++;
        continue;
      }
      h.ether[d.ethertype]!++;
      if (d.ipVersion === 0) continue;
      h.ipProto[d.ipProto]!++;
      if (!d.hasPorts) continue;
      if (d.ipProto === IPPROTO_TCP) {
        h.tcpAll[d.dport]!++;
        if (isConnectionAttempt(d.tcpFlags)) {
          h.tcpSyn[d.dport]!++;
          if (this.daily) this.toDaily(buf, dv, start, true);
        }
        if (this.onProbe) {
          const kind = tcpProbeKind(d.tcpFlags);
          if (kind) this.emitTcp(buf, dv, kind, start);
        }
      } else {
        h.udp[d.dport]!++;
        if (this.daily) this.toDaily(buf, dv, start, false);
        if (this.onProbe) this.emitUdp(buf, dv, start);
      }
    }
  }

  private isIgnored(buf: Buffer): boolean {
    const d = this.d;
    if (d.outgoing) return true;
    if (d.ipVersion === 0) return false; // address filters apply to IP packets only
    const v = d.ipVersion;
    if (this.own.size > 0 && this.own.has(v, buf, d.srcOff)) return true;
    if (this.excludePrivate && (v === 4 ? isPrivateV4(v4At(buf, d.srcOff)) : isPrivateV6(buf, d.srcOff)))
      return true;
    return this.onlyDst.size > 0 && !this.onlyDst.has(v, buf, d.dstOff);
  }

  /**
   * IPv4 text cached by address: the same few destinations and busy sources repeat, and a reused string
   * keeps its hash, so the per-source table downstream finds it faster. Bounded: cleared when full.
   */
  private address(buf: Buffer, off: number): string {
    if (this.d.ipVersion !== 4) return this.address6(buf, off);
    const n = v4At(buf, off);
    let s = this.v4Text.get(n);
    if (s === undefined) {
      if (this.v4Text.size >= V4_TEXT_CACHE) this.v4Text.clear();
      s = formatAddress(4, buf, off);
      this.v4Text.set(n, s);
    }
    return s;
  }

  /**
   * IPv6 text cached by the address's four words (formatting costs ~0.5 µs; sources and destinations
   * repeat). A hash collision just formats afresh. Bounded: cleared when full.
   */
  private address6(buf: Buffer, off: number): string {
    const w0 = buf.readInt32LE(off);
    const w1 = buf.readInt32LE(off + 4);
    const w2 = buf.readInt32LE(off + 8);
    const w3 = buf.readInt32LE(off + 12);
    let h =
      Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(w2 ^ (w3 >>> 7), 0xc2b2ae35) ^ w3;
    h ^= h >>> 15;
    const e = this.v6Text.get(h);
    if (e && e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3) return e.text;
    const text = formatAddress(6, buf, off);
    if (this.v6Text.size >= V6_TEXT_CACHE) this.v6Text.clear();
    this.v6Text.set(h, { w0, w1, w2, w3, text });
    return text;
  }

  /**
   * Builds the event in one literal with every field present (undefined when not applicable): all capture
   * probes then share one object shape, which keeps the subscribers' property reads monomorphic (fast).
   */
  private probe(buf: Buffer, dv: DataView, start: number, kind: ProbeKind): ProbeEvent {
    const d = this.d;
    const rec = start - RECORD_HEADER_BYTES;
    const time = dv.getUint32(rec, true) * 1000 + Math.floor(dv.getUint32(rec + 4, true) / 1000);
    const tcp = kind !== 'udp';
    const o = tcp ? tcpOptions(d, buf) : undefined;
    return {
      type: 'probe',
      time,
      via: 'capture',
      proto: tcp ? 'tcp' : 'udp',
      kind,
      src: this.address(buf, d.srcOff),
      dst: this.address(buf, d.dstOff),
      sport: d.sport,
      dport: d.dport,
      ttl: d.ttl,
      ipId: d.ipId >= 0 ? d.ipId : undefined,
      window: tcp ? d.window : undefined,
      seq: tcp ? d.seq : undefined,
      options: o?.kinds,
      mss: o?.mss,
      wscale: o?.wscale,
    };
  }

  /** The daily sink's fast path: numbers for IPv4, text only for IPv6. Seconds as probe.time / 1000. */
  private toDaily(buf: Buffer, dv: DataView, start: number, tcp: boolean): void {
    const d = this.d;
    const rec = start - RECORD_HEADER_BYTES;
    const usec = dv.getUint32(rec + 4, true);
    // floor(probe.time / 1000) with probe.time = sec * 1000 + floor(usec / 1000), usec unchecked in files.
    const sec = dv.getUint32(rec, true) + (usec < 1e6 ? 0 : Math.floor(usec / 1e6));
    if (d.ipVersion === 4) this.daily!.addV4(tcp, d.dport, v4At(buf, d.dstOff), v4At(buf, d.srcOff), sec);
    else
      this.daily!.addRow(
        tcp ? 'TCP' : 'UDP',
        d.dport,
        this.address6(buf, d.dstOff),
        this.address6(buf, d.srcOff),
        sec,
      );
  }

  private emitTcp(buf: Buffer, dv: DataView, kind: ProbeKind, start: number): void {
    this.deliver(this.probe(buf, dv, start, kind));
  }

  private emitUdp(buf: Buffer, dv: DataView, start: number): void {
    this.deliver(this.probe(buf, dv, start, 'udp'));
  }

  /** A throwing subscriber must not abort the batch half-counted: counted, and the loop goes on. */
  private deliver(p: ProbeEvent): void {
    try {
      this.onProbe!(p);
    } catch {
      this.probeErrors++;
    }
  }

  private build(base: Tables | null): CounterSnapshot {
    const t = this.t;
    this.hot.foldInto(t);
    return {
      packets: t.packets - (base?.packets ?? 0),
      malformed: t.malformed - (base?.malformed ?? 0),
      ignored: t.ignored - (base?.ignored ?? 0),
      tcp: {
        all: sparse(t.tcpAll, base?.tcpAll ?? null, portKey),
        syn: sparse(t.tcpSyn, base?.tcpSyn ?? null, portKey),
      },
      udp: sparse(t.udp, base?.udp ?? null, portKey),
      ip_protocols: sparse(t.ipProto, base?.ipProto ?? null, portKey),
      ethertypes: sparse(t.ether, base?.ether ?? null, etherKey),
    };
  }

  /** Totals since the counters were made. */
  snapshot(): CounterSnapshot {
    return this.build(null);
  }

  /** Counts since the previous takeInterval() (or since the start). */
  takeInterval(): CounterSnapshot {
    const s = this.build(this.last);
    this.last.copyFrom(this.t);
    return s;
  }
}
