// Address parsing for look-ups: IPv4 as an unsigned 32-bit number, IPv6 as its 16 bytes.
// node:net validates; core/addresses.ts turns the text into bytes and numbers.
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4ToUint, parseAddress, v4At } from '../core/addresses.js';

export type ParsedIp = { v: 4; n: number } | { v: 6; bytes: Uint8Array };

export function parseIp(ip: string): ParsedIp | undefined {
  if (isIPv4(ip)) return { v: 4, n: ipv4ToUint(ip) };
  if (!isIPv6(ip)) return undefined;
  const b = parseAddress(ip)!;
  // An IPv4-mapped address (::ffff:a.b.c.d) is looked up as the IPv4 address it carries.
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return { v: 4, n: v4At(b, 12) };
  return { v: 6, bytes: b };
}
