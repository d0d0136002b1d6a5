// The data dir's quota over file parts: sizes learnt at start and tracked as written, the oldest day first
// across parts, counters last, pruned bytes counted per part, and removal by age.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { DiskQuota } from './disk-quota.js';
import { FilePart, patternRoot } from './file-part.js';

const DAY = 86_400_000;
const NOW = Date.now();

/** Writes `bytes` to dir/name with its mtime `daysAgo` days back. */
function put(dir: string, name: string, bytes: number, daysAgo: number): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes, 0x61));
  const t = (NOW - daysAgo * DAY) / 1000;
  utimesSync(p, t, t);
  return p;
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tw-quota-'));
  const stats = new Stats();
  let reopened = 0;
  const raw = new FilePart({
    name: 'raw',
    tier: 'data',
    root: join(dir, 'raw'),
    dirUnits: true,
    retainMs: 30 * DAY,
  });
  const sessions = new FilePart({
    ...{ name: 'sessions', tier: 'data', root: join(dir, 'sessions'), retainMs: 30 * DAY },
    onRemoved: () => reopened++,
  });
  const daily = new FilePart({
    name: 'daily',
    tier: 'counters',
    root: join(dir, 'daily'),
    retainMs: 400 * DAY,
  });
  for (let d = 1; d <= 5; d++) {
    put(join(dir, 'raw', `day${d}`), 'a.log', 10_000, d);
    put(join(dir, 'raw', `day${d}`), 'b.log', 10_000, d);
    put(join(dir, 'sessions'), `s${d}.jsonl`, 20_000, d);
    put(join(dir, 'daily'), `d${d}.csv`, 1_000, d);
  }
  return { dir, stats, raw, sessions, daily, reopened: () => reopened };
}

test('sizes are learnt at start and tracked as written; the oldest days go first across parts, counters last', async () => {
  const { dir, stats, raw, sessions, daily, reopened } = setup();
  try {
    const quota = new DiskQuota({ maxDisk: 150_000, stats, log: createLogger('silent') });
    for (const p of [raw, sessions, daily]) quota.add(p);
    for (const p of [raw, sessions, daily]) await p.scan();
    assert.equal(quota.total(), 5 * (20_000 + 20_000 + 1_000));
    sessions.added(join(dir, 'sessions', 's1.jsonl'), 5_000, NOW - DAY);
    assert.equal(sessions.bytes(), 105_000);
    // 210 000 bytes > 90 % of 150 000: pruned to 80 % (120 000), a day at a time, oldest first.
    await quota.check();
    assert.ok(quota.total() <= 120_000, `${quota.total()}`);
    for (const d of [5, 4]) {
      assert.ok(!existsSync(join(dir, 'raw', `day${d}`)), `raw day${d}`);
      assert.ok(!existsSync(join(dir, 'sessions', `s${d}.jsonl`)), `s${d}`);
    }
    // Day 3: raw files (registered first) went and were enough; that day's sessions file stays.
    assert.ok(!existsSync(join(dir, 'raw', 'day3')) && existsSync(join(dir, 'sessions', 's3.jsonl')));
    assert.ok(existsSync(join(dir, 'raw', 'day2')) && existsSync(join(dir, 'sessions', 's2.jsonl')));
    // Counters are not touched while attacker data can go.
    assert.equal(daily.bytes(), 5_000);
    assert.equal(stats.get('disk_pruned_raw_bytes_total'), 60_000);
    assert.equal(stats.get('disk_pruned_sessions_bytes_total'), 40_000);
    assert.ok(reopened() > 0, 'the sessions writer is told to reopen');
    // A quota smaller than the counters removes all data first, then the oldest counters.
    const tiny = new DiskQuota({ maxDisk: 4_000, stats, log: createLogger('silent') });
    for (const p of [raw, sessions, daily]) tiny.add(p);
    await tiny.check();
    assert.equal(raw.bytes() + sessions.bytes(), 0);
    assert.ok(daily.bytes() <= 3_200 && daily.bytes() > 0);
    assert.ok(existsSync(join(dir, 'daily', 'd1.csv')) && !existsSync(join(dir, 'daily', 'd5.csv')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files past their retention are removed whatever the quota', async () => {
  const { dir, stats, sessions, daily } = setup();
  try {
    const shortRaw = new FilePart({
      name: 'raw',
      tier: 'data',
      root: join(dir, 'raw'),
      dirUnits: true,
      retainMs: 2.5 * DAY,
    });
    const quota = new DiskQuota({ maxDisk: 1e12, stats, log: createLogger('silent') });
    for (const p of [shortRaw, sessions, daily]) quota.add(p);
    for (const p of [shortRaw, sessions, daily]) await p.scan();
    await quota.expire(NOW);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((d) => existsSync(join(dir, 'raw', `day${d}`))),
      [true, true, false, false, false],
    );
    assert.equal(shortRaw.bytes(), 40_000);
    assert.equal(sessions.bytes(), 100_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pattern root is a directory of its own inside the data dir, or none', () => {
  assert.equal(patternRoot('/d', 'sessions/%Y-%m-%d.jsonl'), '/d/sessions');
  assert.equal(patternRoot('/d', 'a/b/s-%Y.jsonl'), '/d/a/b');
  assert.equal(patternRoot('/d', 's-%Y.jsonl'), undefined);
  assert.equal(patternRoot('/d', '/var/log/s-%Y.jsonl'), undefined);
  assert.equal(patternRoot('/d', '../x/%Y.jsonl'), undefined);
});
