// Country (DB-IP Lite country) and ASN (ip-location-db) of an address, from range tables built at build time
// from files shipped in npm packages (tables-build.ts) and read from disk a block at a time (range-table.ts):
// no network look-up ever, and a few hundred KB of memory. Results are cached per address because attackers
// repeat: one source makes thousands of sessions.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

import { isReservedAddress } from '../core/addresses.js';
import { TidewatchError } from '../core/errors.js';
import type { Geo } from '../core/events.js';
import { parseIp } from './ip.js';
import { RangeTable } from './range-table.js';
import { expectedStamp, GEO_TABLES_DIR, NO_ASN, NO_ORG, TABLE_FILES } from './tables.js';

/** Addresses whose result is cached, at most (older half forgotten first): bounds memory under a flood. */
export const GEO_CACHE_MAX = 100_000;

interface Tables {
  countryV4: RangeTable;
  countryV6: RangeTable;
  asnV4: RangeTable;
  asnV6: RangeTable;
  orgs: number;
}

export class GeoDb {
  private tables: Tables | undefined;
  private readonly key4 = Buffer.alloc(4);
  private readonly orgBuf = Buffer.alloc(2 + 256);
  // Two generations instead of an LRU: when the young map fills, the old one is dropped whole. Deleting Map
  // entries one by one from the front makes V8 iterate over the holes, which got quadratic under churn.
  private cache = new Map<string, Geo | null>();
  private old = new Map<string, Geo | null>();
  readonly stats = { lookups: 0, hits: 0, misses: 0 };

  /** Opens the tables in dir (built by `npm run build`); a missing or stale build is a one-line error. */
  load(dir = GEO_TABLES_DIR): void {
    const stamp = join(dir, TABLE_FILES.stamp);
    if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== expectedStamp())
      throw new TidewatchError(
        'TW_ERR_PREREQ',
        `the geo tables in ${dir} are missing or older than the installed data packages: run \`npm run build\``,
      );
    this.close();
    const open: RangeTable[] = [];
    const table = (name: string): RangeTable => {
      const t = RangeTable.open(join(dir, name));
      open.push(t);
      return t;
    };
    try {
      this.tables = {
        countryV4: table(TABLE_FILES.countryV4),
        countryV6: table(TABLE_FILES.countryV6),
        asnV4: table(TABLE_FILES.asnV4),
        asnV6: table(TABLE_FILES.asnV6),
        orgs: openSync(join(dir, TABLE_FILES.orgs), 'r'),
      };
    } catch (err) {
      for (const t of open) t.close();
      throw err;
    }
    this.clearCache();
  }

  close(): void {
    const t = this.tables;
    if (!t) return;
    this.tables = undefined;
    for (const r of [t.countryV4, t.countryV6, t.asnV4, t.asnV6]) r.close();
    closeSync(t.orgs);
  }

  private clearCache(): void {
    this.cache = new Map();
    this.old = new Map();
  }

  get ready(): boolean {
    return this.tables !== undefined;
  }

  /** Records per table (each a range start). */
  get sizes(): { countryV4: number; countryV6: number; asnV4: number; asnV6: number } {
    const t = this.tables;
    return {
      countryV4: t?.countryV4.count ?? 0,
      countryV6: t?.countryV6.count ?? 0,
      asnV4: t?.asnV4.count ?? 0,
      asnV6: t?.asnV6.count ?? 0,
    };
  }

  /** Geo of an address, or undefined (private, unknown, malformed, or data not loaded). */
  lookup(ip: string): Geo | undefined {
    this.stats.lookups++;
    let cached = this.cache.get(ip);
    if (cached === undefined) {
      cached = this.old.get(ip);
      if (cached !== undefined) this.remember(ip, cached);
    }
    if (cached !== undefined) {
      this.stats.hits++;
      return cached ?? undefined;
    }
    const geo = this.resolve(ip);
    if (this.tables) this.remember(ip, geo ?? null);
    if (!geo) this.stats.misses++;
    return geo;
  }

  private remember(ip: string, geo: Geo | null): void {
    if (this.cache.size >= GEO_CACHE_MAX / 2) {
      this.old = this.cache;
      this.cache = new Map();
    }
    this.cache.set(ip, geo);
  }

  private resolve(ip: string): Geo | undefined {
    const t = this.tables;
    const p = parseIp(ip);
    if (!t || !p || isReservedAddress(ip)) return undefined;
    let key: Uint8Array;
    if (p.v === 4) {
      this.key4.writeUInt32BE(p.n >>> 0);
      key = this.key4;
    } else key = p.bytes;
    const geo: Geo = {};
    const c = (p.v === 4 ? t.countryV4 : t.countryV6).find(key);
    if (c && c[0] !== 0) geo.cc = c.toString('latin1');
    const a = (p.v === 4 ? t.asnV4 : t.asnV6).find(key);
    const asn = a?.readUInt32LE(0) ?? NO_ASN;
    if (a && asn !== NO_ASN) {
      geo.asn = asn;
      const org = this.org(a.readUInt32LE(4));
      if (org) geo.org = org;
    }
    // Frozen: one cached object is shared by every event of the source.
    return geo.cc || geo.asn ? Object.freeze(geo) : undefined;
  }

  /** The organisation name at an offset of the org file: u16 length, then UTF-8. */
  private org(offset: number): string | undefined {
    if (offset === NO_ORG || !this.tables) return undefined;
    let buf = this.orgBuf;
    let got = readSync(this.tables.orgs, buf, 0, buf.length, offset);
    const len = got >= 2 ? buf.readUInt16LE(0) : 0;
    if (2 + len > buf.length) {
      buf = Buffer.alloc(2 + len);
      got = readSync(this.tables.orgs, buf, 0, buf.length, offset);
    }
    return got >= 2 + len ? buf.toString('utf8', 2, 2 + len) : undefined;
  }
}
