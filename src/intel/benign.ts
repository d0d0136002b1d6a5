// Benign scanners: research organisations' published address ranges (data/benign-scanners.txt, shipped with
// its sources and licences; --benign-list FILE adds more). A source in a range is tagged benign:<org>.
// Look-ups are a binary search over sorted, non-overlapping ranges: no reverse DNS, ever.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import { ipv4ToUint, parseAddress } from '../core/addresses.js';
import { TidewatchError } from '../core/errors.js';
import { shippedFile } from './paths.js';

interface Range {
  start: bigint;
  end: bigint;
  org: string;
}

const ORG = /^[a-z0-9][a-z0-9._-]{0,47}$/;

/** Bytes of an address as one integer (IPv4 above 2^128, so the two families never mix). */
function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return b.length === 4 ? (1n << 128n) | v : v;
}

/** IPv4 ranges above 2^128 in the bigint order; below it is IPv6. */
const V4 = 1n << 128n;

export class BenignList {
  private starts: bigint[] = [];
  private ranges: Range[] = [];
  // The IPv4 ranges again as plain numbers: a session's source is looked up without BigInt or bytes.
  private v4Starts: number[] = [];
  private v4Ends: number[] = [];
  private v4Orgs: string[] = [];

  get size(): number {
    return this.ranges.length;
  }

  /** Parses `CIDR [org]` lines (# comments); entries without an org take `defaultOrg`. */
  static parse(text: string, file: string, defaultOrg: string): Range[] {
    const out: Range[] = [];
    text.split('\n').forEach((raw, n) => {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) return;
      const [cidr, org = defaultOrg, extra] = line.split(/\s+/);
      const fail = (why: string): never => {
        throw new TidewatchError(
          'TW_ERR_CONFIG',
          `${file}:${n + 1}: ${why}: write "CIDR org", e.g. "192.0.2.0/24 example"`,
        );
      };
      if (extra !== undefined) fail('more than two words');
      if (!ORG.test(org))
        fail(`organisation "${org.slice(0, 40)}" must be lowercase letters, digits, ".", "_" or "-"`);
      const [addr, bits] = cidr!.split('/');
      const bytes = parseAddress(addr!);
      if (!bytes) return fail(`"${cidr!.slice(0, 60)}" is not an address or CIDR`);
      const max = bytes.length * 8;
      const prefix = bits === undefined ? max : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) fail(`bad prefix length in "${cidr}"`);
      const host = BigInt(max - prefix);
      const base = toBig(bytes);
      const start = (base >> host) << host;
      out.push({ start, end: start + (1n << host) - 1n, org });
    });
    return out;
  }

  /**
   * Builds the look-up: sorted by start, then each range cut to what the ranges before it leave uncovered, so
   * an address in overlapping ranges gets the org of the range that starts first (the first listed when two
   * start at the same address: the sort is stable).
   */
  static from(ranges: Range[]): BenignList {
    const list = new BenignList();
    const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    for (const r of sorted) {
      const prev = list.ranges[list.ranges.length - 1];
      if (prev && r.start <= prev.end) {
        if (r.end <= prev.end) continue;
        r.start = prev.end + 1n;
      }
      list.ranges.push(r);
      list.starts.push(r.start);
      if (r.start >= V4) {
        list.v4Starts.push(Number(r.start - V4));
        list.v4Ends.push(Number(r.end - V4));
        list.v4Orgs.push(r.org);
      }
    }
    return list;
  }

  /** The shipped list plus the given files (their entries without an org are tagged by file name). */
  static load(files: readonly string[]): BenignList {
    const all: Range[] = [];
    for (const f of [shippedFile('data/benign-scanners.txt'), ...files]) {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (err) {
        throw new TidewatchError(
          'TW_ERR_CONFIG',
          `--benign-list: cannot read ${f} (${(err as Error).message}): check the path`,
        );
      }
      const org =
        basename(f)
          .replace(/\.[^.]*$/, '')
          .toLowerCase()
          .replace(/[^a-z0-9._-]/g, '-') || 'list';
      all.push(...BenignList.parse(text, f, org));
    }
    return BenignList.from(all);
  }

  /** The organisation whose published range holds `ip`, or undefined. */
  orgOf(ip: string): string | undefined {
    const n = ipv4ToUint(ip);
    if (n >= 0) {
      const i = lastAtMost(this.v4Starts, n);
      return i >= 0 && n <= this.v4Ends[i]! ? this.v4Orgs[i] : undefined;
    }
    const b = parseAddress(ip);
    if (!b) return undefined;
    const v = toBig(b.length === 16 && isV4Mapped(b) ? b.subarray(12) : b);
    const r = this.ranges[lastAtMost(this.starts, v)];
    return r && v <= r.end ? r.org : undefined;
  }
}

/** The index of the last entry of a sorted array that is <= v, or -1. */
function lastAtMost<T extends number | bigint>(sorted: readonly T[], v: T): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
}

const isV4Mapped = (b: Uint8Array): boolean =>
  b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
