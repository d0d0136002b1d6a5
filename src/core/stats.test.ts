import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Stats } from './stats.js';

const root = new URL('../../..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

test('counters add up, set overwrites, entries are sorted', () => {
  const s = new Stats();
  s.inc('b_total');
  s.inc('b_total', 4);
  s.set('a_gauge', 7);
  s.set('a_gauge', 3);
  assert.equal(s.get('b_total'), 5);
  assert.equal(s.get('missing'), 0);
  assert.deepEqual(s.entries(), [
    ['a_gauge', 3],
    ['b_total', 5],
  ]);
});

test('every counter the code names is documented in docs/metrics.md', () => {
  const doc = readFileSync(join(root, 'docs/metrics.md'), 'utf8');
  const missing: string[] = [];
  for (const file of sources(join(root, 'src')))
    for (const m of readFileSync(file, 'utf8').matchAll(/stats\.(?:inc|set)\(\s*'([a-z0-9_]+)'/g))
      if (!doc.includes(m[1]!)) missing.push(`${m[1]} (${file.slice(root.length)})`);
  assert.deepEqual(missing, []);
});
