// Builds the geo range tables (range-table.ts) from the data the npm packages ship, once, at build time
// (scripts/build-geo.mjs, run by `npm run build` and `prepare`): the country mmdb's search tree walked into
// ranges, and the ASN CSV's ranges with their gaps made explicit. The answers are those of the mmdb reader
// and of the CSV ranges (last range starting at or before the address, if it reaches it); enrich.test.ts
// checks a sample against both.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Reader } from 'maxmind';

import { parseAsnLine } from './asn.js';
import { writeRangeTable, type RangeRecord } from './range-table.js';
import {
  ASN_VALUE_BYTES,
  COUNTRY_VALUE_BYTES,
  DATA_FILES,
  expectedStamp,
  GEO_TABLES_DIR,
  NO_ASN,
  NO_ORG,
  TABLE_FILES,
} from './tables.js';

interface MmdbInternals {
  metadata: { nodeCount: number; nodeByteSize: number };
  walker: { left(offset: number): number; right(offset: number): number };
  ipv4StartNodeNumber: number;
  resolveDataPointer(pointer: number): unknown;
}

/** Every leaf of the mmdb tree (from the IPv4 subtree or the root) as a range start and its country. */
function walkCountries(buf: Buffer, bits: 32 | 128, fromV4Start: boolean): RangeRecord[] {
  const r = new Reader(buf) as unknown as MmdbInternals;
  const nodeCount = r.metadata.nodeCount;
  const byPointer = new Map<number, string>();
  const country = (pointer: number): string => {
    let cc = byPointer.get(pointer);
    if (cc === undefined) {
      const v = (r.resolveDataPointer(pointer) as { country_code?: unknown } | null)?.country_code;
      cc = typeof v === 'string' && /^[A-Z]{2}$/.test(v) ? v : '';
      byPointer.set(pointer, cc);
    }
    return cc;
  };
  const out: RangeRecord[] = [];
  const path = new Uint8Array(bits / 8);
  const emit = (cc: string): void => {
    // Adjacent ranges of one country are one record.
    const last = out[out.length - 1];
    const value = cc ? Buffer.from(cc, 'latin1') : Buffer.alloc(COUNTRY_VALUE_BYTES);
    if (last && Buffer.compare(last.value, value) === 0) return;
    out.push({ key: Uint8Array.from(path), value });
  };
  const walk = (node: number, depth: number): void => {
    if (node >= nodeCount) return emit(node > nodeCount ? country(node) : '');
    if (depth === bits) return emit('');
    const offset = node * r.metadata.nodeByteSize;
    walk(r.walker.left(offset), depth + 1);
    path[depth >> 3]! |= 0x80 >> (depth & 7);
    walk(r.walker.right(offset), depth + 1);
    path[depth >> 3]! &= ~(0x80 >> (depth & 7));
  };
  walk(fromV4Start ? r.ipv4StartNodeNumber : 0, 0);
  return out;
}

function bytesOf(n: bigint, width: number): Uint8Array {
  const b = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--, n >>= 8n) b[i] = Number(n & 0xffn);
  return b;
}

/** Organisation names, one per AS: the first non-empty one met (IPv4 file first), as before. */
class OrgBlob {
  private readonly offsets = new Map<number, number>();
  private readonly parts: Buffer[] = [];
  private size = 0;
  add(asn: number, org: string): void {
    if (!org || this.offsets.has(asn)) return;
    const bytes = Buffer.from(org, 'utf8').subarray(0, 0xffff);
    const len = Buffer.alloc(2);
    len.writeUInt16LE(bytes.length);
    this.offsets.set(asn, this.size);
    this.parts.push(len, bytes);
    this.size += 2 + bytes.length;
  }
  offsetOf(asn: number): number {
    return this.offsets.get(asn) ?? NO_ORG;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface AsnRange {
  start: bigint;
  end: bigint;
  asn: number;
}

function readAsnCsv(file: string, orgs: OrgBlob): AsnRange[] {
  const rows: AsnRange[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const r = parseAsnLine(line);
    if (!r) continue;
    orgs.add(r.asn, r.org);
    rows.push({ start: BigInt(r.start), end: BigInt(r.end), asn: r.asn });
  }
  return rows;
}

/** CSV ranges as records: each range, then a "none" record after it where a gap follows. */
function asnRecords(rows: AsnRange[], width: number, orgs: OrgBlob, file: string): RangeRecord[] {
  const value = (asn: number | undefined): Uint8Array => {
    const v = Buffer.alloc(ASN_VALUE_BYTES);
    v.writeUInt32LE(asn ?? NO_ASN, 0);
    v.writeUInt32LE(asn === undefined ? NO_ORG : orgs.offsetOf(asn), 4);
    return v;
  };
  const max = (1n << BigInt(width * 8)) - 1n;
  const starts: bigint[] = [];
  const values: Uint8Array[] = [];
  const put = (start: bigint, v: Uint8Array): void => {
    // Of ranges with the same start, the last one answers (as the bisection over the CSV did).
    if (starts.length && starts[starts.length - 1] === start) values[values.length - 1] = v;
    else {
      starts.push(start);
      values.push(v);
    }
  };
  if (!rows.length || rows[0]!.start > 0n) put(0n, value(undefined));
  rows.forEach((r, i) => {
    const next = rows[i + 1]?.start ?? max + 1n;
    if (next < r.start) throw new Error(`${file} is not sorted by range start near line ${i + 2}`);
    put(r.start, value(r.end >= r.start ? r.asn : undefined));
    if (r.end >= r.start && r.end + 1n < next) put(r.end + 1n, value(undefined));
  });
  return starts.map((s, i) => ({ key: bytesOf(s, width), value: values[i]! }));
}

/** Builds the tables into dir unless its stamp says they are current. True when it built them. */
export function buildGeoTables(dir = GEO_TABLES_DIR, files = DATA_FILES): boolean {
  const stampFile = join(dir, TABLE_FILES.stamp);
  const stamp = expectedStamp();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return false;
  mkdirSync(dir, { recursive: true });
  const mmdb = readFileSync(files.country());
  writeRangeTable(join(dir, TABLE_FILES.countryV4), 4, COUNTRY_VALUE_BYTES, walkCountries(mmdb, 32, true));
  writeRangeTable(join(dir, TABLE_FILES.countryV6), 16, COUNTRY_VALUE_BYTES, walkCountries(mmdb, 128, false));
  const orgs = new OrgBlob();
  const v4 = readAsnCsv(files.asnV4(), orgs);
  const v6 = readAsnCsv(files.asnV6(), orgs);
  writeRangeTable(join(dir, TABLE_FILES.asnV4), 4, ASN_VALUE_BYTES, asnRecords(v4, 4, orgs, files.asnV4()));
  writeRangeTable(join(dir, TABLE_FILES.asnV6), 16, ASN_VALUE_BYTES, asnRecords(v6, 16, orgs, files.asnV6()));
  writeFileSync(join(dir, TABLE_FILES.orgs), orgs.bytes());
  // The stamp last, through a rename: an interrupted build leaves no stamp and is redone.
  writeFileSync(stampFile + '.tmp', stamp);
  renameSync(stampFile + '.tmp', stampFile);
  return true;
}
