#!/usr/bin/env node
// npm run bench [-- NAME ...]: runs the benchmarks under bench/<name>/ (each has a run.js compiled from
// run.ts, or a run.sh). Figures are printed beside a reference measured in the same run; docs/benchmarks.md
// keeps the numbers with the command that reproduces them. Benchmarks need root for namespaces.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = readdirSync(join(root, 'bench'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`tidewatch: no benchmark named ${unknown.join(', ')}: choose from ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : all) {
  const js = join(root, 'dist', 'bench', name, 'run.js');
  const sh = join(root, 'bench', name, 'run.sh');
  const cmd = existsSync(js) ? [process.execPath, [js]] : existsSync(sh) ? ['bash', [sh]] : undefined;
  if (!cmd) {
    console.error(`bench/${name}: no run.ts or run.sh`);
    failed++;
    continue;
  }
  console.log(`\n== bench/${name}`);
  const r = spawnSync(cmd[0], cmd[1], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
