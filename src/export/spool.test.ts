import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DiskSpool } from './spool.js';

const dir = () => mkdtempSync(join(tmpdir(), 'tw-spool-'));

test('lines come back in order, whole, and the file is emptied once all is sent', async () => {
  const d = dir();
  const s = new DiskSpool(d, 'x', 1 << 20);
  await s.open();
  await s.append(['a1', 'b22', 'c333']);
  await s.append(['d4444']);
  const first = await s.read(8); // "a1\nb22\n" is 7 bytes; c333 would cut
  assert.equal(first!.toString(), 'a1\nb22\n');
  await s.commit(first!.length);
  const rest = await s.read(1 << 16);
  assert.equal(rest!.toString(), 'c333\nd4444\n');
  await s.commit(rest!.length);
  assert.equal(await s.read(100), null);
  assert.equal(statSync(join(d, 'x.spool')).size, 0);
  await s.close();
});

test('overflow drops the newest lines, counts them, and keeps the bound', async () => {
  const d = dir();
  let dropped = 0;
  const s = new DiskSpool(d, 'x', 20, (n) => (dropped += n));
  await s.open();
  await s.append(['0123456789', '0123456789', 'x']); // 11 + 11 > 20: the second does not fit, 'x' does
  assert.equal(dropped, 1);
  assert.equal(s.overflowLines, 1);
  assert.ok(s.pending() <= 20);
  assert.equal((await s.read(100))!.toString(), '0123456789\nx\n');
  await s.close();
});

test('a new run resumes after what was sent and ends a torn last line', async () => {
  const d = dir();
  const a = new DiskSpool(d, 'x', 1 << 20);
  await a.open();
  await a.append(['one', 'two', 'three']);
  const c = await a.read(4);
  await a.commit(c!.length); // "one\n" sent
  await a.close();
  appendFileSync(join(d, 'x.spool'), '{"torn'); // a crash mid-append
  const b = new DiskSpool(d, 'x', 1 << 20);
  await b.open();
  await b.append(['four']);
  assert.equal((await b.read(1000))!.toString(), 'two\nthree\n{"torn\nfour\n');
  await b.close();
  assert.match(readFileSync(join(d, 'x.offset'), 'utf8'), /^\d+$/);
});
