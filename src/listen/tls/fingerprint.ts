// JA3 (Salesforce, 2017) and JA4 (FoxIO, 2023) client fingerprints from a parsed ClientHello.
// Both are a few lines of string building over fields only our parser keeps (GREASE, order), so by hand.
import { createHash } from 'node:crypto';
import type { ClientHello } from './client-hello.js';

/** RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa. Left out of both fingerprints. */
export const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

const VERSION_NAMES: Record<number, string> = {
  0x0002: 'SSLv2',
  0x0300: 'SSLv3',
  0x0301: 'TLSv1',
  0x0302: 'TLSv1.1',
  0x0303: 'TLSv1.2',
  0x0304: 'TLSv1.3',
};

export function tlsVersionName(v: number): string {
  return VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, '0')}`;
}

/** JA3: "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats" in decimal, and its MD5. */
export function ja3(ch: ClientHello): { text: string; hash: string } {
  const list = (xs: number[]) => xs.filter((x) => !isGrease(x)).join('-');
  const text = [
    ch.version,
    list(ch.ciphers),
    list(ch.extensions),
    list(ch.groups),
    ch.pointFormats.join('-'),
  ].join(',');
  return { text, hash: createHash('md5').update(text).digest('hex') };
}

const JA4_VERSIONS: Record<number, string> = {
  0x0304: '13',
  0x0303: '12',
  0x0302: '11',
  0x0301: '10',
  0x0300: 's3',
  0x0002: 's2',
  0xfeff: 'd1',
  0xfefd: 'd2',
  0xfefc: 'd3',
};

const hex4 = (v: number) => v.toString(16).padStart(4, '0');
const sha12 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
const two = (n: number) => String(Math.min(n, 99)).padStart(2, '0');
const isAlnum = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** JA4 = a_b_c per the FoxIO specification (ja4/technical_details/JA4.md). */
export function ja4(ch: ClientHello, transport: 't' | 'q' = 't'): string {
  const versions = ch.supportedVersions.filter((v) => !isGrease(v));
  const version = versions.length ? Math.max(...versions) : ch.version;
  const ciphers = ch.ciphers.filter((c) => !isGrease(c));
  const exts = ch.extensions.filter((e) => !isGrease(e));
  const first = ch.alpn[0];
  let alpn = '00';
  if (first) {
    const b = Buffer.from(first, 'latin1');
    const [f, l] = [b[0]!, b[b.length - 1]!];
    if (isAlnum(f) && isAlnum(l)) alpn = String.fromCharCode(f, l);
    else {
      const h = b.toString('hex');
      alpn = h[0]! + h[h.length - 1]!;
    }
  }
  const a = `${transport}${JA4_VERSIONS[version] ?? '00'}${ch.sni !== undefined ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${alpn}`;
  const b = ciphers.length ? sha12(ciphers.map(hex4).sort().join(',')) : '000000000000';
  const sortedExts = exts
    .filter((e) => e !== 0x0000 && e !== 0x0010)
    .map(hex4)
    .sort()
    .join(',');
  const sigs = ch.sigAlgs.map(hex4).join(',');
  const c = exts.length ? sha12(sigs ? `${sortedExts}_${sigs}` : sortedExts) : '000000000000';
  return `${a}_${b}_${c}`;
}
