// A line of the ASN CSV from @ip-location-db/asn (inclusive numeric ranges, sorted), read at build time into
// the range tables (tables-build.ts). Hand-written because the package ships no ASN mmdb.
export interface AsnRow {
  start: string;
  end: string;
  asn: number;
  org: string;
}

/** Parses one line: start,end,asn,org where org may be quoted with "" escapes. */
export function parseAsnLine(line: string): AsnRow | undefined {
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
