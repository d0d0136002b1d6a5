// Addresses, the one home: text to bytes and numbers, bytes to text, private and reserved ranges, the
// host's own addresses. Everything compares numbers, never strings: Tsusen's substring test ignored
// 27.0.0.1 because "27.0.0.1" is inside "127.0.0.1", and raw_sock_port_mon's 172.16/12 mask never matched.
// node:net validates but has no parser to bytes, hence by hand.
import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

/** Parses an IPv4 or IPv6 literal into its bytes (4 or 16); null when it is not an address. */
export function parseAddress(s: string): Uint8Array | null {
  const t = s.trim();
  if (isIPv4(t)) return Uint8Array.from(t.split('.').map(Number));
  if (!isIPv6(t)) return null;
  let text = t.replace(/%.*$/, '');
  const out = new Uint8Array(16);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = dotted[1]!.split('.').map(Number);
    const hex = (v4[0]! * 256 + v4[1]!).toString(16) + ':' + (v4[2]! * 256 + v4[3]!).toString(16);
    text = text.slice(0, dotted.index) + hex;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** The IPv4 address at `o` as an unsigned 32-bit number. */
export const v4At = (b: Uint8Array, o: number): number =>
  b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);

/** IPv4 dotted quad to an unsigned 32-bit number, or -1 (IPv6, malformed). Hand-written: hot path. */
export function ipv4ToUint(ip: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return n * 256 + part;
}

/** An unsigned 32-bit number as a dotted quad. */
export const uintToIpv4 = (n: number): string =>
  `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

export const formatV4 = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** True when the 16 bytes at `o` are an IPv4-mapped address (::ffff:a.b.c.d). */
const isMappedV4 = (b: Uint8Array, o: number): boolean => {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
};

/**
 * RFC 5952 text, as Node prints addresses: lowercase, the longest run (>= 2) of zero groups as ::, and
 * IPv4-mapped as ::ffff:a.b.c.d (so plainAddress() and the firewall recognise it as IPv4).
 */
export function formatV6(b: Uint8Array, o: number): string {
  if (isMappedV4(b, o)) return `::ffff:${formatV4(b, o + 12)}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + i * 2]! << 8) | b[o + i * 2 + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

export const formatAddress = (version: number, b: Uint8Array, o: number): string =>
  version === 4 ? formatV4(b, o) : formatV6(b, o);

/** IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d; records carry the plain IPv4 address. */
export function plainAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/** 10/8, 172.16/12, 192.168/16 (RFC 1918), 127/8, 169.254/16, 100.64/10 (CGNAT), 0/8. `a` is unsigned. */
export function isPrivateV4(a: number): boolean {
  const hi = a >>> 24;
  if (hi === 10 || hi === 127 || hi === 0) return true;
  const hi12 = a >>> 20; // 172.16.0.0/12 = 0xac1 in the top 12 bits
  if (hi12 === 0xac1) return true;
  const hi16 = a >>> 16;
  if (hi16 === 0xc0a8 || hi16 === 0xa9fe) return true; // 192.168/16, 169.254/16
  return a >>> 22 === (100 << 2) + 1; // 100.64.0.0/10
}

/** ::1, ::, fe80::/10 (link-local), fc00::/7 (ULA), and IPv4-mapped ::ffff:a.b.c.d by its IPv4 part. */
export function isPrivateV6(b: Uint8Array, o: number): boolean {
  const b0 = b[o]!;
  if ((b0 & 0xfe) === 0xfc) return true;
  if (b0 === 0xfe && (b[o + 1]! & 0xc0) === 0x80) return true;
  if (isMappedV4(b, o)) return isPrivateV4(v4At(b, o + 12));
  for (let i = 0; i < 15; i++) if (b[o + i] !== 0) return false;
  return b[o + 15]! <= 1; // :: and ::1
}

/** For a textual address (e.g. from a CSV row or a listener): private, loopback, link-local or ULA. */
export function isPrivateAddress(s: string): boolean {
  const bytes = parseAddress(s);
  if (!bytes) return false;
  return bytes.length === 4 ? isPrivateV4(v4At(bytes, 0)) : isPrivateV6(bytes, 0);
}

/** Reserved beyond the private ranges: IETF protocol assignments, documentation, benchmarking, multicast. */
const V4_RESERVED: readonly (readonly [net: number, bits: number])[] = [
  [0xc0000000, 24], // 192.0.0.0/24
  [0xc0000200, 24], // 192.0.2.0/24
  [0xc6120000, 15], // 198.18.0.0/15
  [0xc6336400, 24], // 198.51.100.0/24
  [0xcb007100, 24], // 203.0.113.0/24
  [0xe0000000, 3], // 224.0.0.0/3: multicast and the reserved 240/4
];

/** Private (isPrivateV4) or reserved: an address no registry places in a country or network. */
export function isReservedV4(a: number): boolean {
  return isPrivateV4(a) || V4_RESERVED.some(([net, bits]) => a >>> (32 - bits) === net >>> (32 - bits));
}

/**
 * Private (isPrivateV6) or reserved: all of ::/64 (::, ::1, IPv4-compatible), ff00::/8 multicast,
 * 2001:db8::/32 documentation, 2001:2::/48 benchmarking. IPv4-mapped by the IPv4 rule.
 */
export function isReservedV6(b: Uint8Array, o: number): boolean {
  if (isMappedV4(b, o)) return isReservedV4(v4At(b, o + 12));
  if (isPrivateV6(b, o) || b[o] === 0xff) return true;
  let top64zero = true;
  for (let i = 0; i < 8; i++) if (b[o + i] !== 0) top64zero = false;
  if (top64zero) return true;
  if (b[o] !== 0x20 || b[o + 1] !== 0x01) return false;
  if (b[o + 2] === 0x0d && b[o + 3] === 0xb8) return true;
  return b[o + 2] === 0 && b[o + 3] === 2 && b[o + 4] === 0 && b[o + 5] === 0;
}

/** For a textual address: private or reserved (isReservedV4/V6); false when it is not an address. */
export function isReservedAddress(s: string): boolean {
  const bytes = parseAddress(s);
  if (!bytes) return false;
  return bytes.length === 4 ? isReservedV4(v4At(bytes, 0)) : isReservedV6(bytes, 0);
}

/** Every address of every interface, link-local IPv6 with its zone (fe80::1%eth0) so it can be bound. */
export function localAddresses(family?: 4 | 6): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces()))
    for (const a of addrs ?? []) {
      const fam = a.family === 'IPv4' ? 4 : 6;
      if (family && fam !== family) continue;
      out.push(fam === 6 && /^fe80:/i.test(a.address) ? `${a.address}%${name}` : a.address);
    }
  return out;
}

/** The host's own addresses as packets carry them (no zone, lowercase, sorted, once each): traffic from any is ours. */
export function hostAddresses(): string[] {
  return [...new Set(localAddresses().map((a) => a.replace(/%.*$/, '').toLowerCase()))].sort();
}
