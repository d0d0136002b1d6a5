// Retention and quota over a generated month (40 days) of sessions, payloads, counters and daily rows:
// counts before and after, oldest first, payloads first and counters last.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type Database from 'better-sqlite3';

import type { SessionEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { DiskQuota, QUOTA_LOW } from './disk-quota.js';
import { storePart } from './index.js';
import { Retention } from './retention.js';
import { openDb } from './sqlite/db.js';
import { StoreWriter } from './sqlite/writer.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 1, 20);
const DAYS = 40;

/**
 * 20 sessions a day for 40 days; 10 distinct 2 KB payloads a day; one attempt per session. Each minute with
 * traffic has a port row and a totals row.
 */
function generate(db: Database.Database): void {
  const w = new StoreWriter(db, { maxPayloadBytes: 8192, maxPending: 1000 });
  for (let d = 0; d < DAYS; d++) {
    for (let i = 0; i < 20; i++) {
      const t = NOW - (DAYS - d) * DAY + i * 3_600_000;
      const seed = createHash('sha256')
        .update(`${d}/${i % 10}`)
        .digest();
      const data = Buffer.concat(Array.from({ length: 64 }, () => seed)).toString('base64');
      const src = `203.0.${d}.${i}`;
      w.addAttempt({ time: t, proto: 'tcp', src, dst: '198.18.0.1', dport: 1000 + i, isNew: true });
      const ev: SessionEvent = {
        type: 'session',
        ts: new Date(t).toISOString(),
        sensor: 't',
        proto: 'tcp',
        src,
        sport: 1,
        dst: '198.18.0.1',
        dport: 1000 + i,
        started: new Date(t).toISOString(),
        ended: new Date(t).toISOString(),
        bytes: 2048,
        truncated: false,
        close: 'fin',
        payloads: [{ index: 0, timestamp: new Date(t).toISOString(), data }],
      };
      w.addSession(ev);
    }
  }
  w.flush();
}

const TABLES = [
  'payloads',
  'sessions',
  'daily',
  'sources',
  'counters_min',
  'counters_hour',
  'counters_day',
] as const;

describe('retention and quota', () => {
  let dir: string;
  let db: Database.Database;
  let file: string;
  let stats: Stats;
  const count = (t: string, where = 'true', ...args: unknown[]): number =>
    (db.prepare(`SELECT count(*) n FROM ${t} WHERE ${where}`).get(...args) as { n: number }).n;
  const counts = (): Record<string, number> => Object.fromEntries(TABLES.map((t) => [t, count(t)]));
  const retention = (o: { retainDays?: number; retainCounterDays?: number }): Retention =>
    new Retention(db, file, {
      dataDir: dir,
      retainDays: o.retainDays ?? 10_000,
      retainCounterDays: o.retainCounterDays ?? 10_000,
      stats,
      log: createLogger('silent'),
      batch: 100,
      now: () => NOW,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-retention-'));
    ({ db, file } = openDb(dir));
    stats = new Stats();
    generate(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generated a month and more', () => {
    assert.deepEqual(counts(), {
      payloads: 400,
      sessions: 800,
      daily: 800,
      sources: 800,
      counters_min: 1600,
      counters_hour: 1600,
      counters_day: 840,
    });
  });

  it('prunes by age: sessions and payloads after retainDays, counters after retainCounterDays', async () => {
    const cut = NOW - 30 * DAY;
    const cutC = NOW - 35 * DAY;
    const expected = {
      payloads: count('payloads', 'last_seen >= ?', cut),
      sessions: count('sessions', 'ts >= ?', cut),
      daily: count('daily', 'day >= ?', cutC / DAY),
      sources: count('sources', 'last_seen >= ?', cutC),
      counters_min: count('counters_min', 'minute >= ?', cutC / 60_000),
      counters_hour: count('counters_hour', 'hour >= ?', cutC / 3_600_000),
      counters_day: count('counters_day', 'day >= ?', cutC / DAY),
    };
    assert.deepEqual(expected, {
      payloads: 300,
      sessions: 600,
      daily: 700,
      sources: 700,
      counters_min: 1400,
      counters_hour: 1400,
      counters_day: 735,
    });
    const report = await retention({ retainDays: 30, retainCounterDays: 35 }).runOnce();
    assert.deepEqual(counts(), expected);
    assert.deepEqual(report, {
      payloads: 100,
      sessions: 200,
      daily: 100,
      sources: 100,
      counters_min: 200,
      counters_hour: 200,
      counters_day: 105,
    });
    assert.equal(stats.get('store_pruned_sessions_total'), 200);
    assert.equal(stats.get('store_pruned_payloads_total'), 100);
    // A second pass finds nothing more.
    assert.deepEqual(await retention({ retainDays: 30, retainCounterDays: 35 }).runOnce(), {});
  });

  /** The data dir's quota with the store as its only part. */
  const quotaOver = (r: Retention, maxDisk: number): DiskQuota => {
    const q = new DiskQuota({ maxDisk, stats, log: createLogger('silent') });
    q.add(storePart(r));
    return q;
  };

  it('keeps the quota by pruning the oldest days of payloads and sessions first and leaves counters alone', async () => {
    const r = retention({});
    const before = counts() as Record<(typeof TABLES)[number], number>;
    const bytes = r.fileBytes();
    const order = (
      db.prepare('SELECT id FROM payloads ORDER BY last_seen DESC').all() as { id: number }[]
    ).map((x) => x.id);
    await quotaOver(r, Math.floor(bytes / 2)).check();
    assert.ok(r.fileBytes() <= (bytes / 2) * QUOTA_LOW, `${r.fileBytes()} <= ${(bytes / 2) * QUOTA_LOW}`);
    const after = counts() as Record<(typeof TABLES)[number], number>;
    assert.ok(after.payloads < before.payloads && after.payloads > 0);
    assert.ok(after.sessions < before.sessions && after.sessions > 0);
    // Exactly the newest payloads are left, and no session is older than the oldest day pruned.
    const kept = (
      db.prepare('SELECT id FROM payloads ORDER BY last_seen DESC').all() as { id: number }[]
    ).map((x) => x.id);
    assert.deepEqual(kept, order.slice(0, kept.length));
    const oldestKept = (db.prepare('SELECT min(ts) t FROM sessions').get() as { t: number }).t;
    assert.ok(oldestKept >= NOW - DAYS * DAY + DAY, 'the oldest day went first');
    for (const t of ['daily', 'sources', 'counters_min', 'counters_hour', 'counters_day'] as const)
      assert.equal(after[t], before[t], t);
    assert.equal(stats.get('disk_quota_runs_total'), 1);
    assert.ok(stats.get('disk_pruned_store_bytes_total') > 0);
    // Sessions whose payload went show an empty payload, never another one.
    assert.equal(
      count('sessions s', 'payload_id IS NOT NULL AND payload_id NOT IN (SELECT id FROM payloads)'),
      count('sessions s', 'payload_id IS NOT NULL') - 2 * after.payloads,
    );
  });

  it('under a tiny quota prunes everything, counters last', async () => {
    await quotaOver(retention({}), 1).check();
    assert.deepEqual(counts(), {
      payloads: 0,
      sessions: 0,
      daily: 0,
      sources: 0,
      counters_min: 0,
      counters_hour: 0,
      counters_day: 0,
    });
    for (const t of TABLES) assert.ok(stats.get(`store_pruned_${t}_total`) > 0, t);
  });

  it('keeps the event loop turning while it prunes in batches', async () => {
    let last = performance.now();
    let longest = 0;
    const t = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    await quotaOver(retention({}), 1).check();
    clearInterval(t);
    // 800 rows of each table in batches of 100: the loop gets a turn between batches.
    assert.ok(longest < 100, `longest pause ${longest} ms`);
    console.log(`longest pause ${longest.toFixed(1)} ms`);
  });
});
