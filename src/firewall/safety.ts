// Never-block rules: which sources tidewatch must not block whatever the detector says. A scanner can spoof
// any source address, so without these rules a SYN-only "scan" from the gateway, our own address or the
// operator's SSH peer would lock the operator out (scanlogd's man page warns of exactly this).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { TidewatchError } from '../core/errors.js';
import { hostAddresses } from '../core/addresses.js';
import { parseProcNet } from '../core/procnet.js';

/** A source address in canonical form: IPv4 dotted quad or lower-case compressed IPv6. */
export interface Addr {
  ip: string;
  family: 4 | 6;
}

/**
 * Validates and canonicalises an address (attacker-influenced: it comes from packet headers). IPv4-mapped IPv6
 * (::ffff:1.2.3.4) becomes the IPv4 address, so it lands in the IPv4 set. Anything else returns undefined.
 */
export function canonicalAddr(raw: string): Addr | undefined {
  if (typeof raw !== 'string' || raw.length > 45) return undefined;
  let s = raw.trim().toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (mapped) s = mapped[1]!;
  const fam = isIP(s);
  if (fam === 4) {
    // isIP accepts only canonical dotted quads (no leading zeros), so the string is already canonical.
    return { ip: s, family: 4 };
  }
  if (fam === 6) {
    if (s.includes('%')) return undefined; // zone ids never appear as a remote source worth blocking
    // URL parsing gives the RFC 5952 compressed form, so one address has one key in our maps.
    const ip = new URL(`http://[${s}]/`).hostname.slice(1, -1);
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
    if (hexMapped) {
      const hi = parseInt(hexMapped[1]!, 16);
      const lo = parseInt(hexMapped[2]!, 16);
      return { ip: [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.'), family: 4 };
    }
    return { ip, family: 6 };
  }
  return undefined;
}

/** Parses --allow entries (address or CIDR) into a BlockList; a bad entry is a config error naming it. */
export function parseAllow(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const [addr, bits, extra] = entry.split('/');
    const a = addr === undefined ? undefined : canonicalAddr(addr);
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = a?.family === 6 ? 128 : 32;
    if (!a || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || prefix! > max)))
      throw new TidewatchError(
        'TW_ERR_CONFIG',
        `--allow: "${entry.slice(0, 60)}" is not an address or CIDR: use e.g. 192.0.2.0/24 or 2001:db8::/32`,
      );
    const type = a.family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(a.ip, type);
    else list.addSubnet(a.ip, prefix, type);
  }
  return list;
}

const hex4 = (h: string): string =>
  // /proc/net/route and /proc/net/tcp store IPv4 in host byte order (little endian on every Linux we run on).
  [6, 4, 2, 0].map((i) => parseInt(h.slice(i, i + 2), 16)).join('.');

/** /proc/net/tcp6 and ipv6_route store IPv6 as four host-order 32-bit words (tcp6) or plain hex (route). */
const hex6Words = (h: string): string => {
  const bytes: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = h.slice(w * 8, w * 8 + 8);
    for (let i = 6; i >= 0; i -= 2) bytes.push(word.slice(i, i + 2));
  }
  return groups(bytes.join(''));
};
const groups = (h: string): string => {
  const parts: string[] = [];
  for (let i = 0; i < 32; i += 4) parts.push(h.slice(i, i + 4));
  return canonicalAddr(parts.join(':'))?.ip ?? '';
};

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Default and other gateways from the kernel routing tables (IPv4 and IPv6). */
export function gatewaysFromProc(
  route = readProc('/proc/net/route'),
  route6 = readProc('/proc/net/ipv6_route'),
): string[] {
  const out = new Set<string>();
  for (const line of route.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !/^[0-9A-Fa-f]{8}$/.test(f[2]!) || f[2] === '00000000') continue;
    out.add(hex4(f[2]!));
  }
  for (const line of route6.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^[0-9a-f]{32}$/.test(f[4]!) || /^0+$/.test(f[4]!)) continue;
    const gw = groups(f[4]!);
    if (gw) out.add(gw);
  }
  return [...out];
}

/** Every address configured on this host (all interfaces, both families), canonical as the sets hold them. */
export function ownAddresses(): string[] {
  return hostAddresses().flatMap((a) => canonicalAddr(a)?.ip ?? []);
}

export interface TcpEntry {
  local: string;
  lport: number;
  remote: string;
  rport: number;
  state: number;
  inode: number;
}

const TCP_ESTABLISHED = 0x01;
const TCP_LISTEN = 0x0a;

/** Parses /proc/net/tcp or /proc/net/tcp6 text, addresses decoded and canonical. */
export function parseProcTcp(text: string, family: 4 | 6): TcpEntry[] {
  const dec = family === 4 ? hex4 : hex6Words;
  // v4-mapped sockets on a dual-stack listener show up in tcp6: canonicalAddr makes them IPv4.
  const addr = (hex: string) => canonicalAddr(dec(hex))?.ip ?? dec(hex);
  return parseProcNet(text).map((e) => ({
    local: addr(e.localHex),
    lport: e.lport,
    remote: addr(e.remoteHex),
    rport: e.rport,
    state: e.state,
    inode: e.inode,
  }));
}

/** Socket inodes this process holds open: tidewatch's own listeners and sessions. */
export function ownSocketInodes(fdDir = '/proc/self/fd'): Set<number> {
  const out = new Set<number>();
  let names: string[] = [];
  try {
    names = readdirSync(fdDir);
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${fdDir}/${n}`));
      if (m) out.add(Number(m[1]));
    } catch {
      /* fd closed meanwhile */
    }
  }
  return out;
}

/**
 * True when `src` has an ESTABLISHED connection to a local service that tidewatch does not own (the operator's
 * SSH session, a real web server's client). The connection's socket and the listener on its local port must
 * both belong to another process; the SSH port (--ssh-port) is protected whoever listens on it.
 */
export function hasForeignConnection(
  src: string,
  tcp: TcpEntry[],
  ownInodes: () => Set<number>,
  sshPort: number,
): boolean {
  const mine = tcp.filter((e) => e.state === TCP_ESTABLISHED && e.remote === src);
  if (mine.length === 0) return false;
  const own = ownInodes();
  const foreignListen = new Set(
    tcp.filter((e) => e.state === TCP_LISTEN && !own.has(e.inode)).map((e) => e.lport),
  );
  return mine.some((e) => !own.has(e.inode) && (e.lport === sshPort || foreignListen.has(e.lport)));
}

export interface SafetyInput {
  allow: BlockList;
  sshPort: number;
  /** Overridable for tests; default read from the host. */
  ownAddresses?: () => string[];
  gateways?: () => string[];
  tcpTable?: () => TcpEntry[];
  ownInodes?: () => Set<number>;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
// Unspecified, multicast and broadcast are never real scanners; blocking them could only break the host.
LOOPBACK.addSubnet('0.0.0.0', 8, 'ipv4');
LOOPBACK.addSubnet('224.0.0.0', 3, 'ipv4');
LOOPBACK.addAddress('::', 'ipv6');
LOOPBACK.addSubnet('ff00::', 8, 'ipv6');
LOOPBACK.addSubnet('fe80::', 10, 'ipv6');

/** Host facts change rarely; re-read them at most this often so a burst of scans costs one read. */
const REFRESH_MS = 2000;
/** The connection table (for the SSH-peer rule) is re-read after this long. */
const TCP_REFRESH_MS = 250;

/** Returns why `addr` must never be blocked, or undefined when it may be. */
export class Safety {
  private hostAt = -Infinity;
  private own = new Set<string>();
  private gws = new Set<string>();
  private tcpAt = -Infinity;
  private tcp: TcpEntry[] = [];

  constructor(private readonly input: SafetyInput) {}

  private readTcp(): TcpEntry[] {
    return (
      this.input.tcpTable?.() ?? [
        ...parseProcTcp(readProc('/proc/net/tcp'), 4),
        ...parseProcTcp(readProc('/proc/net/tcp6'), 6),
      ]
    );
  }

  check(addr: Addr, now = Date.now()): string | undefined {
    const type = addr.family === 6 ? 'ipv6' : 'ipv4';
    if (LOOPBACK.check(addr.ip, type)) return 'loopback or non-unicast address';
    if (this.input.allow.check(addr.ip, type)) return 'in --allow';
    if (now - this.hostAt > REFRESH_MS) {
      this.hostAt = now;
      this.own = new Set(this.input.ownAddresses?.() ?? ownAddresses());
      this.gws = new Set(this.input.gateways?.() ?? gatewaysFromProc());
    }
    if (this.own.has(addr.ip)) return "the sensor's own address";
    if (this.gws.has(addr.ip)) return 'a gateway of the sensor';
    // The connection table is kept only TCP_REFRESH_MS: a new SSH login protects its peer almost at once,
    // while a burst of decisions (one capture batch can open many episodes) costs one read. The kernel
    // walks its whole socket hash for /proc/net/tcp, about 1 ms per file even when nearly empty.
    if (now - this.tcpAt > TCP_REFRESH_MS || now < this.tcpAt) {
      this.tcpAt = now;
      this.tcp = this.readTcp();
    }
    const tcp = this.tcp;
    if (
      hasForeignConnection(
        addr.ip,
        tcp,
        this.input.ownInodes ?? (() => ownSocketInodes()),
        this.input.sshPort,
      )
    )
      return 'has an established connection to a local service (e.g. SSH)';
    return undefined;
  }
}
