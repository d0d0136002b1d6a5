#!/usr/bin/env node
// Builds the country and ASN range tables (dist/geo) from the data npm packages once, after tsc (run by
// `npm run build` and `prepare`, so `npm ci` in a fresh clone builds them too); skipped while current.
import { buildGeoTables } from '../dist/src/enrich/tables-build.js';
import { GEO_TABLES_DIR } from '../dist/src/enrich/tables.js';

const started = Date.now();
if (buildGeoTables())
  process.stdout.write(`geo tables built in ${GEO_TABLES_DIR} (${Date.now() - started} ms)\n`);
