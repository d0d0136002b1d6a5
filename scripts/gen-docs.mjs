#!/usr/bin/env node
// Regenerates docs/configuration.md from the config schema (needs a build: npm run docs does both).
import { writeFileSync } from 'node:fs';
const { renderConfigDoc } = await import('../dist/src/config/doc.js');
writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigDoc());
