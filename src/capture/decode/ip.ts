// IPv4 (options, fragments) and IPv6 (extension headers, fragments). Both check every length against what
// was captured (capEnd) and against the frame's length on the wire (wireEnd): a header field that claims
// more than the frame holds makes the packet malformed.
import type { Decoded } from './frame.js';

const u16 = (b: Buffer, o: number): number => (b[o]! << 8) | b[o + 1]!;

/** At most this many IPv6 extension headers are walked; more is treated as malformed (RFC 8200 allows ~7). */
export const MAX_IPV6_EXT_HEADERS = 16;

export function decodeIpv4(d: Decoded, b: Buffer, off: number, capEnd: number, wireEnd: number): boolean {
  if (off + 20 > capEnd) return false;
  const vhl = b[off]!;
  if (vhl >> 4 !== 4) return false;
  const ihl = (vhl & 0x0f) * 4;
  if (ihl < 20 || off + ihl > capEnd) return false;
  const total = u16(b, off + 2);
  if (total < ihl || off + total > wireEnd) return false;
  const frag = u16(b, off + 6);
  const fragOffset = frag & 0x1fff;
  d.ipVersion = 4;
  d.ipId = u16(b, off + 4);
  d.ttl = b[off + 8]!;
  d.ipProto = b[off + 9]!;
  d.srcOff = off + 12;
  d.dstOff = off + 16;
  d.laterFragment = fragOffset !== 0;
  d.firstFragment = fragOffset === 0 && (frag & 0x2000) !== 0;
  d.l4Off = off + ihl;
  d.l4End = off + total;
  return true;
}

export function decodeIpv6(d: Decoded, b: Buffer, off: number, capEnd: number, wireEnd: number): boolean {
  if (off + 40 > capEnd) return false;
  if (b[off]! >> 4 !== 6) return false;
  const end = off + 40 + u16(b, off + 4);
  if (end > wireEnd) return false;
  d.ipVersion = 6;
  d.ttl = b[off + 7]!;
  d.srcOff = off + 8;
  d.dstOff = off + 24;
  let nh = b[off + 6]!;
  let p = off + 40;
  for (let n = 0; ; n++) {
    if (n > MAX_IPV6_EXT_HEADERS) return false;
    let len: number;
    switch (nh) {
      case 0: // hop-by-hop
      case 43: // routing
      case 60: // destination options
      case 135: // mobility
      case 139: // HIP
      case 140: // shim6
        if (p + 8 > capEnd) return false;
        len = (b[p + 1]! + 1) * 8;
        break;
      case 51: // AH counts in 4-byte units, minus 2
        if (p + 8 > capEnd) return false;
        len = (b[p + 1]! + 2) * 4;
        break;
      case 44: {
        // fragment header, fixed 8 bytes
        if (p + 8 > capEnd || p + 8 > end) return false;
        const fragField = u16(b, p + 2);
        nh = b[p]!;
        p += 8;
        if (fragField >> 3 !== 0) {
          // A later fragment: what follows is payload, not headers.
          d.laterFragment = true;
          d.ipProto = nh;
          d.l4Off = p;
          d.l4End = end;
          return true;
        }
        if (fragField & 1) d.firstFragment = true;
        continue;
      }
      default:
        d.ipProto = nh;
        d.l4Off = p;
        d.l4End = end;
        return true;
    }
    nh = b[p]!;
    p += len;
    if (p > end) return false;
  }
}
