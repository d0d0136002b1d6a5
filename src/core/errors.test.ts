import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('every TW_ERR_* code used in the source is documented in docs/errors.md, and only those', () => {
  const used = new Set<string>();
  for (const f of sources(join(root, 'src')))
    for (const m of readFileSync(f, 'utf8').matchAll(/TW_ERR_[A-Z_]+/g)) used.add(m[0]);
  const documented = new Set(
    [...readFileSync(join(root, 'docs/errors.md'), 'utf8').matchAll(/`(TW_ERR_[A-Z_]+)`/g)].map((m) => m[1]!),
  );
  assert.deepEqual([...used].sort(), [...documented].sort());
});
