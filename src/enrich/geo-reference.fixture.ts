// The geo answers straight from the package data, as the sensor computed them before the range tables: the
// country from the mmdb reader, the ASN by bisection over the CSV ranges (last range starting at or before
// the address, if it reaches it), the organisation first met per AS. Tests compare the tables with it.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

import { Reader, type CountryResponse } from 'maxmind';

import { isReservedAddress, uintToIpv4 } from '../core/addresses.js';
import type { Geo } from '../core/events.js';
import { parseAsnLine } from './asn.js';
import { DATA_FILES } from './tables.js';

interface Ranges {
  starts: bigint[];
  ends: bigint[];
  asns: number[];
}

function readRanges(file: string, orgs: Map<number, string>): Ranges {
  const r: Ranges = { starts: [], ends: [], asns: [] };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const row = parseAsnLine(line);
    if (!row) continue;
    if (row.org && !orgs.has(row.asn)) orgs.set(row.asn, row.org);
    r.starts.push(BigInt(row.start));
    r.ends.push(BigInt(row.end));
    r.asns.push(row.asn);
  }
  return r;
}

function asnOf(r: Ranges, x: bigint): number | undefined {
  let lo = 0;
  let hi = r.starts.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (r.starts[mid]! <= x) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return at < 0 || r.ends[at]! < x ? undefined : r.asns[at];
}

const v6Text = (n: bigint): string =>
  Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');

/** A deterministic sequence of numbers in [0, 1): the same sample every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Looks up, through `lookup`, the first, last and middle address of `rows` random CSV ranges per family and
 * the addresses on either side, plus as many random addresses, and lists those whose answer differs.
 */
export function sampleAgainstPackageData(
  lookup: (ip: string) => Geo | undefined,
  rows: number,
): { checked: number; differences: string[] } {
  const country = new Reader<CountryResponse & { country_code?: string }>(readFileSync(DATA_FILES.country()));
  const orgs = new Map<number, string>();
  const v4 = readRanges(DATA_FILES.asnV4(), orgs);
  const v6 = readRanges(DATA_FILES.asnV6(), orgs);
  const expected = (ip: string, family: 4 | 6, n: bigint): Geo | undefined => {
    if (isReservedAddress(ip)) return undefined;
    const geo: Geo = {};
    const cc = country.get(ip)?.country_code;
    if (typeof cc === 'string' && /^[A-Z]{2}$/.test(cc)) geo.cc = cc;
    const asn = asnOf(family === 4 ? v4 : v6, n);
    if (asn !== undefined) {
      geo.asn = asn;
      const org = orgs.get(asn);
      if (org) geo.org = org;
    }
    return geo.cc || geo.asn ? geo : undefined;
  };
  const rnd = random(15);
  const differences: string[] = [];
  let checked = 0;
  const check = (family: 4 | 6, n: bigint): void => {
    const max = family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
    if (n < 0n || n > max) return;
    const ip = family === 4 ? uintToIpv4(Number(n)) : v6Text(n);
    const want = expected(ip, family, n);
    const got = lookup(ip);
    checked++;
    if (!isDeepStrictEqual(got === undefined ? undefined : { ...got }, want))
      differences.push(`${ip}: got ${JSON.stringify(got)}, package data ${JSON.stringify(want)}`);
  };
  for (const [family, r] of [
    [4, v4],
    [6, v6],
  ] as const)
    for (let i = 0; i < rows; i++) {
      const at = Math.floor(rnd() * r.starts.length);
      const s = r.starts[at]!;
      const e = r.ends[at]!;
      for (const n of [s - 1n, s, (s + e) / 2n, e, e + 1n]) check(family, n);
    }
  for (let i = 0; i < rows; i++) {
    check(4, BigInt(Math.floor(rnd() * 2 ** 32)));
    // Inside 2000::/3, where the global unicast ranges are.
    const hi = (0x2n << 124n) | (BigInt(Math.floor(rnd() * 2 ** 32)) << 92n);
    check(6, hi | BigInt(Math.floor(rnd() * 2 ** 32)));
  }
  return { checked, differences };
}
