// Address classification and matching on raw packet bytes, for --exclude-private, --only-dst and the
// host's own addresses. Everything compares numbers, never strings: Tsusen's substring test ignored
// 27.0.0.1 because "27.0.0.1" is inside "127.0.0.1", and raw_sock_port_mon's 172.16/12 mask never matched.
import { parseAddress } from '../core/ip.js';

const v4At = (b: Uint8Array, o: number): number =>
  b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);

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
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  if (b[o + 10] === 0xff && b[o + 11] === 0xff) return isPrivateV4(v4At(b, o + 12));
  if (b[o + 10] !== 0 || b[o + 11] !== 0) return false;
  for (let i = 12; i < 15; i++) if (b[o + i] !== 0) return false;
  return b[o + 15]! <= 1; // :: and ::1
}

/** A set of exact addresses, matched against packet bytes without allocating. */
export class AddressSet {
  private readonly v4 = new Set<number>();
  private v6: Uint8Array[] = [];

  constructor(addrs: Iterable<string> = []) {
    this.replace(addrs);
  }

  /** Replaces the content; strings that are not addresses are ignored. */
  replace(addrs: Iterable<string>): void {
    this.v4.clear();
    const v6: Uint8Array[] = [];
    for (const a of addrs) {
      const bytes = parseAddress(a);
      if (!bytes) continue;
      if (bytes.length === 4) this.v4.add(v4At(bytes, 0));
      else v6.push(bytes);
    }
    this.v6 = v6;
  }

  get size(): number {
    return this.v4.size + this.v6.length;
  }

  hasV4(b: Uint8Array, o: number): boolean {
    return this.v4.size > 0 && this.v4.has(v4At(b, o));
  }

  hasV6(b: Uint8Array, o: number): boolean {
    // Few addresses (an interface's or an --only-dst list): a linear scan beats hashing 16 bytes.
    outer: for (const a of this.v6) {
      for (let i = 15; i >= 0; i--) if (a[i] !== b[o + i]) continue outer;
      return true;
    }
    return false;
  }

  has(version: number, b: Uint8Array, o: number): boolean {
    return version === 4 ? this.hasV4(b, o) : this.hasV6(b, o);
  }
}

export const formatV4 = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** RFC 5952 text: lowercase, the longest run (>= 2) of zero groups as ::, IPv4-mapped as ::ffff:a.b.c.d. */
export function formatV6(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + i * 2]! << 8) | b[o + i * 2 + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return `::ffff:${formatV4(b, o + 12)}`;
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

/** For a textual address (e.g. from a CSV row or a listener): private, loopback, link-local or ULA. */
export function isPrivateAddress(s: string): boolean {
  const bytes = parseAddress(s);
  if (!bytes) return false;
  return bytes.length === 4 ? isPrivateV4(v4At(bytes, 0)) : isPrivateV6(bytes, 0);
}

export const v4AtOffset = v4At;
