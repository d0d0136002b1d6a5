import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Stats } from '../core/stats.js';
import { DiskSpool, spoolPart } from './spool.js';

const DAY = 86_400_000;

const made: string[] = [];
const dir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tw-spool-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

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

test('a new run resumes after what was sent and cuts a torn last line back', async () => {
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
  assert.equal(b.tornBytes, '{"torn'.length);
  await b.append(['four']);
  assert.equal((await b.read(1000))!.toString(), 'two\nthree\nfour\n');
  await b.close();
  assert.match(readFileSync(join(d, 'x.offset'), 'utf8'), /^\d+$/);
});

test('the file stays under maxBytes while the collector stays a little behind, in order and without loss', async () => {
  const d = dir();
  const max = 4096;
  let dropped = 0;
  const s = new DiskSpool(d, 'x', max, (n) => (dropped += n));
  await s.open();
  let next = 0;
  let expect = 0;
  let largest = 0;
  for (let round = 0; round < 2000; round++) {
    await s.append([`line-${next++}`, `line-${next++}`]);
    largest = Math.max(largest, statSync(join(d, 'x.spool')).size);
    // The collector stays 100 lines behind: it takes two lines a round once 100 wait.
    if (next - expect < 100) continue;
    const chunk = await s.read(1000);
    const got = chunk!.toString().split('\n').slice(0, 2);
    for (const l of got) assert.equal(l, `line-${expect++}`);
    await s.commit(Buffer.byteLength(got.join('\n') + '\n'));
  }
  assert.ok(largest <= max, `spool file reached ${largest} bytes`);
  assert.ok(s.compactions > 0);
  assert.equal(dropped, 0, 'nothing is lost while what waits fits');
  await s.close();
});

test('compaction survives a restart: the offset and the file agree', async () => {
  const d = dir();
  const a = new DiskSpool(d, 'x', 64);
  await a.open();
  await a.append(['aaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbb', 'ccccccccccccccc']); // 48 bytes
  await a.commit((await a.read(32))!.length); // a and b sent
  await a.append(['ddddddddddddddd', 'eeeeeeeeeeeeeee']); // 80 > 64: compacted first
  assert.equal(a.compactions, 1);
  await a.close();
  const b = new DiskSpool(d, 'x', 64);
  await b.open();
  assert.equal((await b.read(1000))!.toString(), 'ccccccccccccccc\nddddddddddddddd\neeeeeeeeeeeeeee\n');
  await b.close();
});

test('the quota takes the oldest unsent lines first, counted, and never the chunk being sent', async () => {
  const d = dir();
  const s = new DiskSpool(d, 'x', 1 << 20);
  await s.open();
  const lines = Array.from({ length: 1000 }, (_, i) => `line-${String(i).padStart(4, '0')}`); // 9 bytes + \n
  await s.append(lines);
  const held = await s.read(105); // lines 0-9 are being written to the collector
  assert.equal(held!.length, 100);
  const stats = new Stats();
  const part = spoolPart(s, 'x_spool', stats);
  const quota = 10_000 - 5_000; // the spool must shrink below this
  await part.prune('data', Date.now() + DAY, () => s.fileBytes() <= quota);
  assert.ok(s.fileBytes() <= quota, `${s.fileBytes()} bytes left`);
  assert.ok(s.fileBytes() >= quota - 10_000 / 4, 'pruned in slices, not the whole spool');
  const dropped = stats.get('disk_pruned_x_spool_lines_total');
  assert.equal(dropped, s.prunedLines);
  assert.equal(s.fileBytes(), (1000 - dropped) * 10);
  // The held chunk is committed as sent; what follows it are the newest lines, in order, none torn.
  await s.commit(held!.length);
  const rest = (await s.read(1 << 20))!.toString().trimEnd().split('\n');
  assert.deepEqual(rest, lines.slice(10 + dropped));
  await s.close();
});

test('pruning the spool drops the sent head first and stops when only the chunk in flight is left', async () => {
  const d = dir();
  const s = new DiskSpool(d, 'x', 1 << 20);
  await s.open();
  await s.append(['aaaa', 'bbbb', 'cccc']);
  await s.commit((await s.read(5))!.length); // aaaa sent
  const held = await s.read(5); // bbbb in flight
  const stats = new Stats();
  await spoolPart(s, 'x_spool', stats).prune('data', Date.now() + DAY, () => false);
  assert.equal(stats.get('disk_pruned_x_spool_lines_total'), 1); // cccc; aaaa was sent already
  assert.equal(s.fileBytes(), 5); // bbbb alone
  await s.commit(held!.length);
  assert.equal(await s.read(100), null);
  await s.close();
});
