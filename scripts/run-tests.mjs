#!/usr/bin/env node
// Runs every compiled test with node's built-in runner. --unit leaves out the namespace e2e tests.
// The e2e tests need root (namespaces, nftables); scripts/preflight.mjs --test installs their tools.
import { spawnSync } from 'node:child_process';
import { readdirSync, cpSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const unitOnly = process.argv.includes('--unit');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function collect(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) collect(p, out);
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// Static files (dashboard, fixtures) are not emitted by tsc: copy them beside the compiled code.
for (const d of ['src/web/static', 'test/fixtures'])
  if (existsSync(join(root, d))) cpSync(join(root, d), join(root, 'dist', d), { recursive: true });

let files = [...collect(join(root, 'dist', 'src')), ...collect(join(root, 'dist', 'test'))].sort();
if (unitOnly) files = files.filter((f) => !f.includes(`${join('dist', 'test', 'e2e')}`));
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
if (!files.length) {
  console.error('no test files found: run npm run build first');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=600000', ...files],
  { stdio: 'inherit', cwd: root },
);
// Namespaces of a test process that was killed outright (runner timeout) are removed here.
try {
  const { reapStaleTestbeds } = await import('../dist/test/helpers/testbed.js');
  const reaped = reapStaleTestbeds();
  if (reaped.length) console.error(`removed test namespaces left by killed tests: ${reaped.join(' ')}`);
} catch {
  /* no test bed was built */
}
process.exit(r.status ?? 1);
