// Link layers: Ethernet (+802.1Q/QinQ), Linux cooked capture v1/v2, raw IP, BSD loopback. Each returns the
// offset of the network header, or -1 when the frame is too short for its own header.
import { Decoded, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_LLC } from './frame.js';

/** pcap LINKTYPE_* values this decoder understands. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_BSD: 12,
  RAW_OPENBSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const SUPPORTED: ReadonlySet<number> = new Set(Object.values(LINKTYPE));
export const isSupportedLinktype = (lt: number): boolean => SUPPORTED.has(lt);

const PACKET_OUTGOING = 4;

const u16 = (b: Buffer, o: number): number => (b[o]! << 8) | b[o + 1]!;

/** Crosses 802.1Q (0x8100), 802.1ad (0x88a8) and the old QinQ types (0x9100, 0x9200). */
function skipVlans(d: Decoded, b: Buffer, off: number, end: number): number {
  let type = d.ethertype;
  // Each tag consumes 4 bytes and is length-checked, so the loop ends within caplen / 4 steps.
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100 || type === 0x9200) {
    if (off + 4 > end) return -1;
    type = u16(b, off + 2);
    off += 4;
    d.vlans++;
  }
  // An 802.3 frame has a length (<= 1500) where Ethernet II has a type: it is LLC, reported as Linux does.
  d.ethertype = type <= 1500 ? ETHERTYPE_LLC : type;
  return off;
}

function ipFromVersion(d: Decoded, b: Buffer, off: number, end: number): number {
  if (off >= end) return -1;
  const v = b[off]! >> 4;
  if (v === 4) d.ethertype = ETHERTYPE_IPV4;
  else if (v === 6) d.ethertype = ETHERTYPE_IPV6;
  else return -1;
  return off;
}

/** Returns the network-layer offset and sets d.ethertype, or -1 when the link header is short or unknown. */
export function decodeLink(d: Decoded, b: Buffer, off: number, end: number, linktype: number): number {
  switch (linktype) {
    case LINKTYPE.ETHERNET:
      if (off + 14 > end) return -1;
      d.ethertype = u16(b, off + 12);
      return skipVlans(d, b, off + 14, end);
    case LINKTYPE.LINUX_SLL:
      // pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
      if (off + 16 > end) return -1;
      d.outgoing = u16(b, off) === PACKET_OUTGOING;
      d.ethertype = u16(b, off + 14);
      return skipVlans(d, b, off + 16, end);
    case LINKTYPE.LINUX_SLL2:
      // protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
      if (off + 20 > end) return -1;
      d.outgoing = b[off + 10] === PACKET_OUTGOING;
      d.ethertype = u16(b, off);
      return skipVlans(d, b, off + 20, end);
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_BSD:
    case LINKTYPE.RAW_OPENBSD:
      return ipFromVersion(d, b, off, end);
    case LINKTYPE.IPV4:
      d.ethertype = ETHERTYPE_IPV4;
      return off < end ? off : -1;
    case LINKTYPE.IPV6:
      d.ethertype = ETHERTYPE_IPV6;
      return off < end ? off : -1;
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      // A 4-byte address family, in the writer's byte order (NULL) or network order (LOOP): AF_INET is 2
      // everywhere; AF_INET6 is 10, 24, 28 or 30 depending on the OS. Decide by the IP version nibble.
      if (off + 4 > end) return -1;
      return ipFromVersion(d, b, off + 4, end);
    }
    default:
      return -1;
  }
}
