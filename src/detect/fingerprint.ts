// Scanner and OS fingerprints from the headers of one connection attempt (docs/fingerprints.md gives every
// rule with its source). Pure functions over a probe: no state, no allocation for the common no-match case
// beyond the result array.
import { ipv4ToUint } from '../core/addresses.js';
import type { ProbeEvent, Tag } from '../core/events.js';

export type ProbeHeaders = Pick<
  ProbeEvent,
  'proto' | 'kind' | 'dst' | 'dport' | 'ttl' | 'ipId' | 'window' | 'seq' | 'options' | 'mss'
>;

const NMAP_WINDOWS = new Set([1024, 2048, 3072, 4096]);

/** The initial TTL a sender most likely used (p0f's rule: the next of 32, 64, 128, 255 at or above it). */
export function initialTtl(ttl: number): number {
  if (ttl <= 32) return 32;
  if (ttl <= 64) return 64;
  if (ttl <= 128) return 128;
  return 255;
}

const sameOptions = (a: readonly number[] | undefined, b: readonly number[]): boolean => {
  const x = a ?? [];
  if (x.length !== b.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== b[i]) return false;
  return true;
};

const startsWith = (a: readonly number[] | undefined, b: readonly number[]): boolean =>
  !!a && a.length >= b.length && b.every((v, i) => a[i] === v);

/**
 * Tool tags of one probe, most confident first. Only TCP probes with header fields carry a fingerprint
 * (UDP probes and listener connects have none).
 */
export function fingerprintProbe(p: ProbeHeaders): Tag[] {
  const tags: Tag[] = [];
  if (p.proto !== 'tcp' || p.window === undefined || p.ttl === undefined) return tags;
  const ittl = initialTtl(p.ttl);
  const opts = p.options ?? [];
  const dst4 = ipv4ToUint(p.dst); // -1 for IPv6
  const seq = p.seq;

  // masscan: IP ID = (dst IP ^ dst port ^ seq) & 0xffff (templ-pkt.c), window 1024, TTL 255.
  if (dst4 >= 0 && seq !== undefined && p.ipId !== undefined) {
    if (p.ipId === ((dst4 ^ p.dport ^ seq) & 0xffff) >>> 0) {
      // One packet in 65,536 matches by chance (seen in a real nmap run): without masscan's TTL 255 the
      // formula alone is weak evidence.
      let c = ittl === 255 ? 0.9 : 0.5;
      if (p.window === 1024) c += 0.05;
      if (ittl === 255) c += 0.04;
      tags.push({ name: 'masscan', confidence: round(c) });
    }
  } else if (dst4 < 0 && p.kind === 'syn' && p.window === 1024 && ittl === 255 && opts.length <= 1) {
    // IPv6 has no IP ID: the template alone is a weaker hint.
    tags.push({ name: 'masscan', confidence: 0.5 });
  }

  // ZMap: IP ID 54321 (packet.c, up to 2024), window 65535, TTL 255, no options in 2.x.
  if (p.ipId === 54321) {
    let c = 0.85;
    if (p.window === 65535) c += 0.1;
    if (ittl === 255) c += 0.04;
    tags.push({ name: 'zmap', confidence: round(c) });
  } else if (p.kind === 'syn' && p.window === 65535 && ittl === 255 && opts.length === 0) {
    // ZMap since 2024 randomises the IP ID; window 65535 + TTL 255 + no options remains.
    tags.push({ name: 'zmap', confidence: 0.5 });
  }

  // Mirai and its variants: TCP seq == destination IPv4 (scanner.c).
  if (dst4 >= 0 && seq === dst4 && p.kind === 'syn') {
    tags.push({ name: 'mirai', confidence: round(p.dport === 23 || p.dport === 2323 ? 0.99 : 0.95) });
  }

  // nmap: window 1024/2048/3072/4096; SYN scan with MSS 1460 only; FIN/NULL/Xmas/ACK/Maimon without options;
  // random TTL of at most 64 (p0f.fp "NMap:SYN scan", captured Debian nmap 7.93: TTL 37..59).
  const masscan = tags.some((t) => t.name === 'masscan' && t.confidence >= 0.9);
  if (NMAP_WINDOWS.has(p.window) && ittl <= 64 && !masscan) {
    if (p.kind === 'syn' && sameOptions(opts, [2]) && p.mss === 1460) {
      tags.push({ name: 'nmap', confidence: 0.9 });
    } else if (p.kind !== 'syn' && opts.length === 0) {
      tags.push({ name: 'nmap', confidence: 0.85 });
    }
  }

  // unicornscan default "Cisco IOS" fingerprint (init_packet.c case 0): TTL 255, window 4128, MSS only;
  // "p0f sendsyn" fingerprint (case 3): TTL 255, window 12345, no options.
  if (ittl === 255 && p.kind === 'syn') {
    if (p.window === 4128 && sameOptions(opts, [2])) tags.push({ name: 'unicornscan', confidence: 0.85 });
    else if (p.window === 12345 && opts.length === 0) tags.push({ name: 'unicornscan', confidence: 0.7 });
  }

  // hping3 (captured Debian 3.0.0-alpha-2): window 512, no options, TTL 64.
  if (p.window === 512 && opts.length === 0 && ittl === 64 && tags.length === 0) {
    tags.push({ name: 'hping3', confidence: 0.6 });
  }

  if (tags.length === 0 && p.kind === 'syn') {
    const os = osFamily(ittl, p.window, opts);
    if (os) tags.push(os);
  }
  return tags.sort((a, b) => b.confidence - a.confidence);
}

/**
 * OS family from a SYN the p0f way (initial TTL + option layout + window), coarse on purpose:
 * a family, never a version. Layouts from p0f.fp and captured Debian 12 (Linux 6.x) SYNs.
 */
export function osFamily(ittl: number, window: number, opts: readonly number[]): Tag | undefined {
  // Linux 2.6+: mss,sok,ts,nop,ws (p0f "s:unix:Linux:3.11 and newer"); without timestamps: mss,nop,nop,sok,nop,ws.
  if (ittl === 64 && (sameOptions(opts, [2, 4, 8, 1, 3]) || sameOptions(opts, [2, 1, 1, 4, 1, 3]))) {
    return { name: 'os:linux', confidence: 0.8 };
  }
  // Windows 7..11: mss,nop,ws,nop,nop,sok with initial TTL 128 (p0f "s:win:Windows:7 or 8");
  // Windows XP: mss,nop,nop,sok.
  if (ittl === 128) {
    if (sameOptions(opts, [2, 1, 3, 1, 1, 4])) return { name: 'os:windows', confidence: 0.85 };
    if (sameOptions(opts, [2, 1, 1, 4])) return { name: 'os:windows', confidence: 0.7 };
    if (opts.length > 0 && opts[0] === 2) return { name: 'os:windows', confidence: 0.5 };
  }
  // macOS / FreeBSD / OpenBSD: mss,nop,ws,nop,nop,ts,sok,eol (p0f "s:unix:Mac OS X", "FreeBSD 9+":
  // mss,nop,ws,sok,ts), window 65535.
  if (ittl === 64 && (startsWith(opts, [2, 1, 3, 1, 1, 8, 4]) || sameOptions(opts, [2, 1, 3, 4, 8]))) {
    return { name: 'os:bsd', confidence: window === 65535 ? 0.8 : 0.65 };
  }
  // Embedded stacks (lwIP, busybox-era Linux 2.4, routers): MSS only or no options with a small window,
  // or a TTL-255 stack that is not a known scanner (p0f: "s:unix:Linux:2.4" small windows, Cisco IOS).
  if ((ittl === 64 || ittl === 255) && (opts.length === 0 || sameOptions(opts, [2])) && window <= 16384) {
    return { name: 'os:embedded', confidence: 0.4 };
  }
  if (ittl === 64 && opts.length > 0) return { name: 'os:unix', confidence: 0.3 };
  return undefined;
}

const round = (x: number): number => Math.round(Math.min(x, 0.99) * 100) / 100;

/** The first tool tag (not an OS family) of a list ordered most likely first, for ScanEvent.tool. */
export function bestTool(tags: readonly Tag[] | undefined): string | undefined {
  for (const t of tags ?? []) if (!t.name.startsWith('os:')) return t.name;
  return undefined;
}

/** Merges new tags into known ones: one entry per name, highest confidence kept, at most `max`. */
export function mergeTags(known: Tag[] | undefined, add: readonly Tag[], max = 4): Tag[] {
  const out = known ? [...known] : [];
  for (const t of add) {
    const i = out.findIndex((k) => k.name === t.name);
    if (i < 0) out.push(t);
    else if (out[i]!.confidence < t.confidence) out[i] = t;
  }
  out.sort((a, b) => b.confidence - a.confidence);
  return out.length > max ? out.slice(0, max) : out;
}
