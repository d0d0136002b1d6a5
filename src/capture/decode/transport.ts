// TCP, UDP, ICMP and ICMPv6 headers. Runs after ip.ts set l4Off/l4End; a later fragment has no header.
import { type Decoded, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './frame.js';

const u16 = (b: Buffer, o: number): number => (b[o]! << 8) | b[o + 1]!;

export function decodeTransport(d: Decoded, b: Buffer, capEnd: number): boolean {
  if (d.laterFragment) return true;
  const off = d.l4Off;
  const wireLen = d.l4End - off;
  switch (d.ipProto) {
    case IPPROTO_TCP: {
      if (wireLen < 20 || off + 20 > capEnd) return false;
      const hdr = (b[off + 12]! >> 4) * 4;
      if (hdr < 20 || hdr > wireLen) return false;
      d.hasPorts = true;
      d.sport = u16(b, off);
      d.dport = u16(b, off + 2);
      d.seq = b[off + 4]! * 0x1000000 + ((b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!);
      d.tcpFlags = b[off + 13]!;
      d.window = u16(b, off + 14);
      d.optOff = off + 20;
      d.optEnd = Math.min(off + hdr, capEnd);
      return true;
    }
    case IPPROTO_UDP: {
      if (wireLen < 8 || off + 8 > capEnd) return false;
      // Network byte order, read as such (raw_sock_port_mon compared it unswapped and dropped most UDP).
      const len = u16(b, off + 4);
      if (len < 8) return false;
      // A first fragment holds only part of the datagram that the UDP length describes.
      if (len > wireLen && !d.firstFragment) return false;
      d.hasPorts = true;
      d.sport = u16(b, off);
      d.dport = u16(b, off + 2);
      return true;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      if (wireLen < 4 || off + 4 > capEnd) return false;
      d.icmpType = b[off]!;
      return true;
    default:
      return true;
  }
}

/**
 * TCP option kinds in order, plus MSS and window scale, from the captured option bytes. Stops quietly at
 * a malformed option (the packet still counts: fingerprints just get fewer fields). Allocates: call it
 * only when a probe event is built.
 */
export function tcpOptions(d: Decoded, b: Buffer): { kinds: number[]; mss?: number; wscale?: number } {
  const kinds: number[] = [];
  let mss: number | undefined;
  let wscale: number | undefined;
  let i = d.optOff;
  const end = d.optEnd;
  while (i < end) {
    const kind = b[i]!;
    kinds.push(kind);
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) break;
    if (kind === 2 && len === 4) mss = u16(b, i + 2);
    else if (kind === 3 && len === 3) wscale = b[i + 2]!;
    i += len;
  }
  return { kinds, mss, wscale };
}
