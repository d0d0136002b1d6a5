// Builders of packet bytes for decoder tests and the capture generator: every header written field by
// field, with overrides to make each length lie. Also builds batch buffers in the capture batch contract.
import { parseAddress } from '../../src/core/addresses.js';

const parsed = new Map<string, Buffer>();
/** Address bytes, memoized (the generator writes millions of packets from a few thousand addresses). */
const addr = (a: string, len: 4 | 16): Buffer => {
  let b = parsed.get(a);
  if (!b) {
    const p = parseAddress(a);
    if (!p || p.length !== len) throw new Error(`not an IPv${len === 4 ? 4 : 6} address: ${a}`);
    b = Buffer.from(p);
    if (parsed.size < 100_000) parsed.set(a, b);
  }
  return b;
};

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  ttl?: number;
  id?: number;
  /** More fragments flag. */
  mf?: boolean;
  /** Fragment offset in 8-byte units. */
  fragOffset?: number;
  /** IP options (padded by the caller to a multiple of 4). */
  options?: Buffer;
  totalLength?: number;
  ihlWords?: number;
  version?: number;
}

export function ipv4(o: Ipv4Opts): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h[0] = ((o.version ?? 4) << 4) | (o.ihlWords ?? (20 + opts.length) / 4);
  h.writeUInt16BE(o.totalLength ?? h.length + o.payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(((o.mf ? 1 : 0) << 13) | (o.fragOffset ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  addr(o.src, 4).copy(h, 12);
  addr(o.dst, 4).copy(h, 16);
  opts.copy(h, 20);
  return Buffer.concat([h, o.payload]);
}

export interface Ipv6Ext {
  /** Header type of THIS extension header (0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 dest opts). */
  type: number;
  /** For 44: fragment offset (8-byte units) and more-fragments. */
  fragOffset?: number;
  mf?: boolean;
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Buffer;
  hopLimit?: number;
  ext?: Ipv6Ext[];
  payloadLength?: number;
  version?: number;
}

export function ipv6(o: Ipv6Opts): Buffer {
  const ext = o.ext ?? [];
  const parts: Buffer[] = [];
  for (let i = 0; i < ext.length; i++) {
    const e = ext[i]!;
    const next = i + 1 < ext.length ? ext[i + 1]!.type : o.nextHeader;
    const b = Buffer.alloc(e.type === 51 ? 12 : 8);
    b[0] = next;
    if (e.type === 44) b.writeUInt16BE(((e.fragOffset ?? 0) << 3) | (e.mf ? 1 : 0), 2);
    else if (e.type === 51)
      b[1] = 1; // (1 + 2) * 4 = 12 bytes
    else b[1] = 0; // (0 + 1) * 8 = 8 bytes; the rest is padding (PadN not needed by the decoder)
    parts.push(b);
  }
  const body = Buffer.concat([...parts, o.payload]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((o.version ?? 6) << 28) >>> 0, 0);
  h.writeUInt16BE(o.payloadLength ?? body.length, 4);
  h[6] = ext.length ? ext[0]!.type : o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  addr(o.src, 16).copy(h, 8);
  addr(o.dst, 16).copy(h, 24);
  return Buffer.concat([h, body]);
}

export interface TcpOpts {
  sport: number;
  dport: number;
  flags: number;
  seq?: number;
  ack?: number;
  window?: number;
  options?: Buffer;
  payload?: Buffer;
  dataOffsetWords?: number;
}

/** MSS 1460, SACK permitted, timestamps, NOP, window scale 7: Linux's SYN options. */
export const LINUX_SYN_OPTIONS = Buffer.from('020405b40402080a000000010000000001030307', 'hex');

export function tcp(o: TcpOpts): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE((o.seq ?? 1000) >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  h[12] = (o.dataOffsetWords ?? (20 + opts.length) / 4) << 4;
  h[13] = o.flags;
  h.writeUInt16BE(o.window ?? 64240, 14);
  opts.copy(h, 20);
  return Buffer.concat([h, o.payload ?? Buffer.alloc(0)]);
}

export function udp(o: { sport: number; dport: number; payload?: Buffer; length?: number }): Buffer {
  const p = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt16BE(o.length ?? 8 + p.length, 4);
  return Buffer.concat([h, p]);
}

export function icmp(o: { type: number; code?: number; payload?: Buffer }): Buffer {
  const h = Buffer.alloc(8);
  h[0] = o.type;
  h[1] = o.code ?? 0;
  return Buffer.concat([h, o.payload ?? Buffer.alloc(0)]);
}

/** A classic pcap file header (microsecond times, snaplen 65535) for `linktype` (1 = Ethernet). */
export function pcapHeader(linktype = 1): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(linktype, 20);
  return h;
}

export const MAC_SENSOR = '020000000001';
export const MAC_SCANNER = '020000000002';
const SENSOR_MAC = Buffer.from(MAC_SENSOR, 'hex');
const SCANNER_MAC = Buffer.from(MAC_SCANNER, 'hex');

/** Ethernet II; `vlans` lists the TPIDs outside in (0x8100 for 802.1Q, 0x88a8 then 0x8100 for QinQ). */
export function ether(type: number, payload: Buffer, vlans: number[] = []): Buffer {
  const h = Buffer.alloc(14 + vlans.length * 4);
  SENSOR_MAC.copy(h, 0);
  SCANNER_MAC.copy(h, 6);
  let o = 12;
  vlans.forEach((tpid, i) => {
    h.writeUInt16BE(tpid, o);
    h.writeUInt16BE(100 + i, o + 2); // VLAN id
    o += 4;
  });
  h.writeUInt16BE(type, o);
  return Buffer.concat([h, payload]);
}

/** Linux cooked capture v1 (DLT 113). pkttype 0 = to us, 4 = outgoing. */
export function sll(protocol: number, payload: Buffer, pkttype = 0): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(pkttype, 0);
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  Buffer.from(MAC_SCANNER, 'hex').copy(h, 6);
  h.writeUInt16BE(protocol, 14);
  return Buffer.concat([h, payload]);
}

/** Linux cooked capture v2 (DLT 276). */
export function sll2(protocol: number, payload: Buffer, pkttype = 0): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(protocol, 0);
  h.writeUInt32BE(2, 4); // ifindex
  h.writeUInt16BE(1, 8);
  h[10] = pkttype;
  h[11] = 6;
  Buffer.from(MAC_SCANNER, 'hex').copy(h, 12);
  return Buffer.concat([h, payload]);
}

/** An ARP request (who-has) from the scanner. */
export function arp(): Buffer {
  return Buffer.from('0001080006040001' + MAC_SCANNER + 'c6120002' + '000000000000' + 'c6120001', 'hex');
}

export interface BatchFrame {
  frame: Buffer;
  /** Wire length; default the frame's length. A frame cut by the snap length has origLen > frame.length. */
  origLen?: number;
  tsSec?: number;
  tsUsec?: number;
}

/** Builds one buffer in the capture batch contract (16-byte LE header per record, 8-byte aligned). */
export function batch(frames: (Buffer | BatchFrame)[]): Buffer {
  const recs = frames.map((f) => (Buffer.isBuffer(f) ? { frame: f } : f));
  let size = 0;
  for (const r of recs) size = (size + 16 + r.frame.length + 7) & ~7;
  const out = Buffer.alloc(size);
  let off = 0;
  for (const r of recs) {
    out.writeUInt32LE(r.tsSec ?? 1_700_000_000, off);
    out.writeUInt32LE(r.tsUsec ?? 0, off + 4);
    out.writeUInt32LE(r.frame.length, off + 8);
    out.writeUInt32LE(r.origLen ?? r.frame.length, off + 12);
    r.frame.copy(out, off + 16);
    off = (off + 16 + r.frame.length + 7) & ~7;
  }
  return out;
}
