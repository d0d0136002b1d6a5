import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import type { Config } from '../config/schema.js';
import { JsonlWriter } from './jsonl.js';
import { strftime } from './strftime.js';

function ctxFor(dataDir: string): SensorContext {
  const log = createLogger('fatal');
  return { cfg: { dataDir } as Config, bus: new EventBus(), log, stats: new Stats() };
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { i: number });

/** Waits for the writer's batch timer on a busy machine: polls `done` for up to 5 s, then gives up. */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
}

test('strftime formats in UTC and keeps unknown conversions', () => {
  const ms = Date.UTC(2024, 1, 29, 3, 4, 5);
  assert.equal(
    strftime('x/%Y-%m-%d_%H%M%S.%j.%y %F %T %%%q', ms),
    'x/2024-02-29_030405.060.24 2024-02-29 03:04:05 %%q',
  );
});

test('writes records in batches into directories it creates, and flushes on close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-jsonl-'));
  try {
    const ctx = ctxFor(dir);
    const w = new JsonlWriter(ctx, { pattern: 'a/b/%Y.jsonl', name: 't' });
    for (let i = 0; i < 1000; i++) w.write({ i });
    await w.close();
    const file = join(dir, 'a/b', `${new Date().getUTCFullYear()}.jsonl`);
    assert.deepEqual(
      lines(file).map((r) => r.i),
      [...Array(1000).keys()],
    );
    assert.equal(ctx.stats.get('t_written_total'), 1000);
    w.write({ i: -1 });
    assert.equal(ctx.stats.get('t_not_written_total'), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reopen() after a rename (logrotate) starts a new file at the same name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-jsonl-'));
  try {
    const w = new JsonlWriter(ctxFor(dir), { pattern: 's.jsonl', name: 't' });
    w.write({ i: 1 });
    await until(() => existsSync(join(dir, 's.jsonl')) && lines(join(dir, 's.jsonl')).length === 1);
    renameSync(join(dir, 's.jsonl'), join(dir, 's.jsonl.1'));
    w.reopen();
    w.write({ i: 2 });
    await w.close();
    assert.deepEqual(lines(join(dir, 's.jsonl.1')), [{ i: 1 }]);
    assert.deepEqual(lines(join(dir, 's.jsonl')), [{ i: 2 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable path counts records, and writing resumes once it is fixed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-jsonl-'));
  try {
    const ctx = ctxFor(dir);
    // A file where the directory should be: mkdir fails with EEXIST/ENOTDIR even for root.
    writeFileSync(join(dir, 'sub'), 'x');
    const w = new JsonlWriter(ctx, { pattern: 'sub/s.jsonl', name: 't', retryDelayMs: 50 });
    for (let i = 0; i < 10; i++) w.write({ i });
    await until(() => ctx.stats.get('t_not_written_total') >= 10);
    assert.equal(ctx.stats.get('t_not_written_total'), 10);
    rmSync(join(dir, 'sub'));
    w.write({ i: 10 });
    await until(() => existsSync(join(dir, 'sub/s.jsonl')));
    assert.ok(existsSync(join(dir, 'sub/s.jsonl')));
    await w.close();
    assert.deepEqual(lines(join(dir, 'sub/s.jsonl')), [{ i: 10 }]);
    assert.equal(ctx.stats.get('t_written_total'), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the queue is bounded: beyond maxPendingBytes records are counted, not kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-jsonl-'));
  try {
    const ctx = ctxFor(dir);
    const w = new JsonlWriter(ctx, { pattern: 's.jsonl', name: 't', maxPendingBytes: 1000 });
    for (let i = 0; i < 100; i++) w.write({ pad: 'x'.repeat(90), i });
    await w.close();
    const written = ctx.stats.get('t_written_total');
    assert.ok(written >= 9 && written <= 10, `written ${written}`);
    assert.equal(written + ctx.stats.get('t_not_written_total'), 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn last line left by a killed process is cut back at open and counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-jsonl-'));
  try {
    const ctx = ctxFor(dir);
    const file = join(dir, 'torn.jsonl');
    writeFileSync(file, '{"i":1}\n{"i":2}\n{"i":3, "cut in the mid');
    const w = new JsonlWriter(ctx, { pattern: 'torn.jsonl', name: 't' });
    w.write({ i: 4 });
    await w.close();
    assert.deepEqual(
      lines(file).map((l) => l.i),
      [1, 2, 4],
    );
    assert.equal(ctx.stats.get('t_torn_lines_total'), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
