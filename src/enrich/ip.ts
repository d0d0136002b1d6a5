// Address parsing for look-ups: IPv4 as an unsigned 32-bit number, IPv6 as two unsigned 64-bit halves.
// node:net validates; core/ip.ts turns the text into bytes.
import { isIPv4, isIPv6 } from 'node:net';
import { parseAddress } from '../core/ip.js';

export type ParsedIp = { v: 4; n: number } | { v: 6; hi: bigint; lo: bigint };

export function ipv4ToNum(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export const numToIpv4 = (n: number): string =>
  `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

export function parseIp(ip: string): ParsedIp | undefined {
  if (isIPv4(ip)) return { v: 4, n: ipv4ToNum(ip) };
  if (!isIPv6(ip)) return undefined;
  const b = parseAddress(ip)!;
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  // An IPv4-mapped address (::ffff:a.b.c.d) is looked up as the IPv4 address it carries.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return { v: 4, n: ((g[6]! << 16) | g[7]!) >>> 0 };
  let hi = 0n;
  let lo = 0n;
  for (let i = 0; i < 4; i++) hi = (hi << 16n) | BigInt(g[i]!);
  for (let i = 4; i < 8; i++) lo = (lo << 16n) | BigInt(g[i]!);
  return { v: 6, hi, lo };
}

const V4_PRIVATE: [number, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
].map(([a, bits]) => [ipv4ToNum(a as string), bits as number]);

/** Private, loopback, link-local, documentation, benchmarking, multicast and reserved: no geo to find. */
export function isPrivate(p: ParsedIp): boolean {
  if (p.v === 4) {
    return V4_PRIVATE.some(([net, bits]) =>
      bits === 0 ? true : p.n >>> (32 - bits) === net >>> (32 - bits),
    );
  }
  const top16 = Number(p.hi >> 48n);
  if (p.hi === 0n) return true; // ::, ::1, IPv4-compatible and other reserved low space
  if ((top16 & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((top16 & 0xffc0) === 0xfe80) return true; // fe80::/10 link local
  if ((top16 & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  const top32 = Number(p.hi >> 32n);
  if (top32 === 0x20010db8) return true; // 2001:db8::/32 documentation
  if (Number(p.hi >> 16n) === 0x200100020000) return true; // 2001:2::/48 benchmarking
  return false;
}
