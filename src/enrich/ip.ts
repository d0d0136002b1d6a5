// Address parsing for look-ups: IPv4 as an unsigned 32-bit number, IPv6 as two unsigned 64-bit halves.
// node:net validates; core/addresses.ts turns the text into bytes and numbers.
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4ToUint, parseAddress, v4At } from '../core/addresses.js';

export type ParsedIp = { v: 4; n: number } | { v: 6; hi: bigint; lo: bigint };

export function parseIp(ip: string): ParsedIp | undefined {
  if (isIPv4(ip)) return { v: 4, n: ipv4ToUint(ip) };
  if (!isIPv6(ip)) return undefined;
  const b = parseAddress(ip)!;
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  // An IPv4-mapped address (::ffff:a.b.c.d) is looked up as the IPv4 address it carries.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return { v: 4, n: v4At(b, 12) };
  let hi = 0n;
  let lo = 0n;
  for (let i = 0; i < 4; i++) hi = (hi << 16n) | BigInt(g[i]!);
  for (let i = 4; i < 8; i++) lo = (lo << 16n) | BigInt(g[i]!);
  return { v: 6, hi, lo };
}
