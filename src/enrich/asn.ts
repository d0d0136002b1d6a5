// The ASN table from @ip-location-db/asn (CSV of inclusive numeric ranges, sorted): held in typed arrays and
// searched by bisection. Hand-written rather than an mmdb reader because the package ships no ASN mmdb; typed
// arrays keep 500k ranges in ~10 MB and answer in well under a microsecond.
import { readFile } from 'node:fs/promises';
import { setImmediate as yieldLoop } from 'node:timers/promises';

/** Lines parsed between two yields to the event loop while loading. */
const CHUNK = 20_000;

export interface AsnHit {
  asn: number;
  org?: string;
}

interface Row {
  start: string;
  end: string;
  asn: number;
  org: string;
}

/** Parses one line: start,end,asn,org where org may be quoted with "" escapes. */
export function parseAsnLine(line: string): Row | undefined {
  const a = line.indexOf(',');
  const b = line.indexOf(',', a + 1);
  const c = line.indexOf(',', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  let org = line.slice(c + 1).trimEnd();
  if (org.startsWith('"') && org.endsWith('"')) org = org.slice(1, -1).replaceAll('""', '"');
  const asn = Number(line.slice(b + 1, c));
  if (!Number.isInteger(asn)) return undefined;
  return { start: line.slice(0, a), end: line.slice(a + 1, b), asn, org };
}

async function eachLine(file: string, fn: (r: Row) => void): Promise<number> {
  const text = await readFile(file, 'utf8');
  let pos = 0;
  let n = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const r = parseAsnLine(text.slice(pos, nl));
    pos = nl + 1;
    if (r) fn(r);
    if (++n % CHUNK === 0) await yieldLoop();
  }
  return n;
}

/** Organisation names are shared by ASN: one string per AS, not per range. */
class Orgs {
  private readonly byAsn = new Map<number, string>();
  add(asn: number, org: string): void {
    if (org && !this.byAsn.has(asn)) this.byAsn.set(asn, org);
  }
  get(asn: number): string | undefined {
    return this.byAsn.get(asn);
  }
}

export class AsnTable {
  private v4s = new Uint32Array(0);
  private v4e = new Uint32Array(0);
  private v4a = new Uint32Array(0);
  private v6sh = new BigUint64Array(0);
  private v6sl = new BigUint64Array(0);
  private v6eh = new BigUint64Array(0);
  private v6el = new BigUint64Array(0);
  private v6a = new Uint32Array(0);
  private readonly orgs = new Orgs();

  get size(): { v4: number; v6: number } {
    return { v4: this.v4a.length, v6: this.v6a.length };
  }

  async loadV4(file: string): Promise<void> {
    const s: number[] = [];
    const e: number[] = [];
    const a: number[] = [];
    await eachLine(file, (r) => {
      s.push(Number(r.start));
      e.push(Number(r.end));
      a.push(r.asn);
      this.orgs.add(r.asn, r.org);
    });
    this.v4s = Uint32Array.from(s);
    this.v4e = Uint32Array.from(e);
    this.v4a = Uint32Array.from(a);
  }

  async loadV6(file: string): Promise<void> {
    const rows: [bigint, bigint, number][] = [];
    await eachLine(file, (r) => {
      rows.push([BigInt(r.start), BigInt(r.end), r.asn]);
      this.orgs.add(r.asn, r.org);
    });
    const n = rows.length;
    const M = (1n << 64n) - 1n;
    this.v6sh = new BigUint64Array(n);
    this.v6sl = new BigUint64Array(n);
    this.v6eh = new BigUint64Array(n);
    this.v6el = new BigUint64Array(n);
    this.v6a = new Uint32Array(n);
    rows.forEach(([st, en, asn], i) => {
      this.v6sh[i] = st >> 64n;
      this.v6sl[i] = st & M;
      this.v6eh[i] = en >> 64n;
      this.v6el[i] = en & M;
      this.v6a[i] = asn;
    });
  }

  private hit(asn: number): AsnHit {
    const org = this.orgs.get(asn);
    return org === undefined ? { asn } : { asn, org };
  }

  lookupV4(n: number): AsnHit | undefined {
    // Last range whose start <= n, then check its end.
    let lo = 0;
    let hi = this.v4s.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.v4s[mid]! <= n) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at < 0 || this.v4e[at]! < n) return undefined;
    return this.hit(this.v4a[at]!);
  }

  lookupV6(h: bigint, l: bigint): AsnHit | undefined {
    const le = (ah: bigint, al: bigint): boolean => ah < h || (ah === h && al <= l);
    let lo = 0;
    let hi = this.v6sh.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (le(this.v6sh[mid]!, this.v6sl[mid]!)) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at < 0) return undefined;
    const eh = this.v6eh[at]!;
    const el = this.v6el[at]!;
    if (eh < h || (eh === h && el < l)) return undefined;
    return this.hit(this.v6a[at]!);
  }
}
