// Decodes one captured frame into a reused Decoded. Returns false when the frame is malformed or cut
// before a header the counters need; the caller then counts it as malformed and in nothing else.
import { Decoded, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './frame.js';
import { decodeIpv4, decodeIpv6 } from './ip.js';
import { decodeLink } from './link.js';
import { decodeTransport } from './transport.js';

export * from './frame.js';
export { LINKTYPE, isSupportedLinktype } from './link.js';
export { tcpOptions } from './transport.js';

/**
 * @param start offset of the frame's first byte in `b`
 * @param caplen bytes captured (all readable); origLen: the frame's length on the wire (>= caplen)
 */
export function decodeFrame(
  d: Decoded,
  b: Buffer,
  start: number,
  caplen: number,
  origLen: number,
  linktype: number,
): boolean {
  d.reset();
  const capEnd = start + caplen;
  const wireEnd = start + origLen;
  const net = decodeLink(d, b, start, capEnd, linktype);
  if (net < 0) return false;
  // The host's own packets (SLL says so) are ignored by the caller: no need to look further.
  if (d.outgoing) return true;
  if (d.ethertype === ETHERTYPE_IPV4)
    return decodeIpv4(d, b, net, capEnd, wireEnd) && decodeTransport(d, b, capEnd);
  if (d.ethertype === ETHERTYPE_IPV6)
    return decodeIpv6(d, b, net, capEnd, wireEnd) && decodeTransport(d, b, capEnd);
  return true;
}
