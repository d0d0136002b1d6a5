// What one frame decoded to. ONE instance is reused for every packet (the hot path allocates nothing):
// each decode overwrites every field the counters read, so stale values from a previous frame never leak.

/** Where a frame stopped being decodable. `ok` frames may still stop early (non-IP, later fragment...). */
export class Decoded {
  /** The ethertype after all VLAN tags; 0x0004 (Linux ETH_P_802_2) for 802.3 length-framed LLC. */
  ethertype = 0;
  /** VLAN tags crossed (802.1Q, 802.1ad QinQ). */
  vlans = 0;
  /** Linux cooked capture said the host itself sent it (sll_pkttype PACKET_OUTGOING). */
  outgoing = false;
  /** 4, 6, or 0 when the frame is not IP. */
  ipVersion = 0;
  /** Offsets into the batch buffer of the source and destination addresses (4 or 16 bytes). */
  srcOff = 0;
  dstOff = 0;
  /** IPv4 protocol or the IPv6 upper-layer next header (after extension headers); -1 when not IP. */
  ipProto = -1;
  ttl = 0;
  /** IPv4 identification; -1 for IPv6. */
  ipId = -1;
  /** True for a fragment other than the first: it carries no transport header, so no ports. */
  laterFragment = false;
  /** True for the first fragment of a fragmented datagram (its UDP length covers all fragments). */
  firstFragment = false;
  /** Transport header offset and the end of the IP payload on the wire (may lie past the captured bytes). */
  l4Off = 0;
  l4End = 0;
  /** True when sport/dport/tcp fields below are valid (TCP or UDP with its header present). */
  hasPorts = false;
  sport = 0;
  dport = 0;
  /** The TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN). */
  tcpFlags = 0;
  window = 0;
  seq = 0;
  /** Captured TCP option bytes: [optOff, optEnd) within the buffer (may be cut by the snap length). */
  optOff = 0;
  optEnd = 0;
  /** ICMP/ICMPv6 type, -1 otherwise. */
  icmpType = -1;

  reset(): void {
    this.ethertype = 0;
    this.vlans = 0;
    this.outgoing = false;
    this.ipVersion = 0;
    this.srcOff = 0;
    this.dstOff = 0;
    this.ipProto = -1;
    this.ttl = 0;
    this.ipId = -1;
    this.laterFragment = false;
    this.firstFragment = false;
    this.l4Off = 0;
    this.l4End = 0;
    this.hasPorts = false;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.window = 0;
    this.seq = 0;
    this.optOff = 0;
    this.optEnd = 0;
    this.icmpType = -1;
  }
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_ARP = 0x0806;
/** Linux ETH_P_802_2: what SLL reports for 802.3/LLC frames, so Ethernet does the same. */
export const ETHERTYPE_LLC = 0x0004;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
