// The API's SQLite reads run in a worker thread under a time budget: a deliberately expensive payload search
// over a large store leaves the event loop turning (a timer measures its longest pause) and is answered,
// with a result or TW_ERR_STORE_TIMEOUT; past the budget the worker is replaced and the next query answered.
// Also: keyset paging (cursor) and the text search's scan window of TEXT_SCAN_ROWS sessions.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';

import { isTidewatchError } from '../../core/errors.js';
import { Stats } from '../../core/stats.js';
import { parseCursor, TEXT_SCAN_ROWS, type SessionPage, type SessionQuery } from '../query.js';
import { openDb } from './db.js';
import { SqliteQueryStore } from './queries.js';
import { WorkerQueryStore } from './worker-queries.js';

const T0 = Date.UTC(2026, 0, 10);
/** Sessions in the store: more than the scan window, so a text search stops at TEXT_SCAN_ROWS. */
const N = 3 * TEXT_SCAN_ROWS + 5_000;
/** Every NEEDLE_EVERY-th session's payload holds the needle; the others one of 64 random 4 KiB payloads. */
const NEEDLE_EVERY = 5_000;
const NEEDLE = 'NEEDLE-7f3a';

/** Session i (1..N) starts at T0 + i s; ids 1..N. The needle sessions' ids, newest first. */
const needles = (from: number, to: number): number[] =>
  Array.from({ length: N }, (_, k) => N - k).filter((i) => i % NEEDLE_EVERY === 0 && i >= from && i <= to);

/** Runs `work` while a 5 ms timer measures the longest gap between its ticks (the event loop's pause). */
async function longestPause<T>(work: () => Promise<T>): Promise<{ value: T | Error; pause: number }> {
  let last = performance.now();
  let pause = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    pause = Math.max(pause, now - last);
    last = now;
  }, 5);
  try {
    const value = await work().catch((err: Error) => err);
    return { value, pause: Math.max(pause, performance.now() - last) };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The longest pause the same timer sees while a plain busy thread burns CPU for `ms`: what the machine's
 * load alone costs (2 cores shared by many processes), with no SQLite and nothing blocking the loop.
 */
async function busyReference(ms: number): Promise<number> {
  const w = new Worker(`const end = Date.now() + ${ms}; while (Date.now() < end);`, { eval: true });
  const { pause } = await longestPause(() => new Promise((r) => w.once('exit', r)));
  return pause;
}

/** CPU time (ms) the main thread (the event loop's) has used, from /proc (clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime
}

/** `work` timed: its answer, the loop's longest pause, the main thread's CPU and the wall time (ms). */
async function measured<T>(work: () => Promise<T>) {
  const t0 = performance.now();
  const cpu0 = mainThreadCpuMs();
  const { value, pause } = await longestPause(work);
  return { value, pause, cpu: mainThreadCpuMs() - cpu0, ms: performance.now() - t0 };
}

/**
 * The main thread used under 100 ms of CPU (the query ran elsewhere: on the loop it costs its whole time),
 * and the loop's longest pause is under 100 ms, or, on a machine whose load alone pauses a loop longer
 * (2 cores shared by many processes), under three times that reference measured next. The pause is
 * scheduler noise there, so up to three runs are measured; the CPU bound holds on every one.
 */
async function assertNoStall<T>(work: () => Promise<T>): Promise<T | Error> {
  for (let run = 1; ; run++) {
    const m = await measured(work);
    const reference = await busyReference(m.ms);
    console.log(
      `run ${run}: answered in ${m.ms.toFixed(0)} ms, longest pause ${m.pause.toFixed(1)} ms (same load ` +
        `without SQLite: ${reference.toFixed(1)} ms), main thread CPU ${m.cpu} ms`,
    );
    assert.ok(m.cpu < 100, `the main thread used ${m.cpu} ms of CPU`);
    const ok = m.pause < Math.max(100, 3 * reference);
    if (ok || run === 3) {
      assert.ok(ok, `the event loop paused ${m.pause.toFixed(1)} ms`);
      return m.value;
    }
  }
}

describe('API queries in a worker thread under a time budget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-worker-q-'));
  let file = '';
  const stores: WorkerQueryStore[] = [];
  const workerStore = (budgetMs?: number): WorkerQueryStore => {
    const s = new WorkerQueryStore({
      file,
      sensor: 'test',
      stats: new Stats(),
      ...(budgetMs !== undefined && { budgetMs }),
    });
    stores.push(s);
    return s;
  };

  before(() => {
    const { db, file: f } = openDb(dir);
    file = f;
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
      INSERT INTO payloads (id, hash, data, size, first_seen, last_seen)
        SELECT i, randomblob(32), randomblob(4096), 4096, ${T0}, ${T0} FROM n;
      INSERT INTO payloads (id, hash, data, size, first_seen, last_seen)
        VALUES (65, randomblob(32), zeroblob(4000) || CAST('${NEEDLE}' AS BLOB), 4011, ${T0}, ${T0});
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
      INSERT INTO sessions (id, ts, ended, proto, src, sport, dst, dport, bytes, truncated, close, payload_id)
        SELECT i, ${T0} + i * 1000, ${T0} + i * 1000, 'tcp', '198.18.0.' || (i % 250), 40000, '198.18.1.1',
          23, 4096, 0, 'fin', CASE WHEN i % ${NEEDLE_EVERY} = 0 THEN 65 ELSE 1 + i % 64 END FROM n;`);
    db.close();
  });

  after(async () => {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an expensive payload search never pauses the event loop 100 ms, and is answered', async () => {
    const store = workerStore();
    const value = await assertNoStall(() => store.sessions({ text: NEEDLE, limit: 50, offset: 0 }));
    if (value instanceof Error) {
      // A machine too loaded to finish within the budget: the answer is the timeout.
      assert.ok(isTidewatchError(value) && value.code === 'TW_ERR_STORE_TIMEOUT', String(value));
      return;
    }
    const page = value;
    assert.equal(page.scanned, TEXT_SCAN_ROWS);
    assert.equal(page.scan_limit, TEXT_SCAN_ROWS);
    assert.deepEqual(
      page.rows.map((r) => r.id),
      needles(N - TEXT_SCAN_ROWS + 1, N),
    );
    assert.equal(page.total, page.rows.length);
    // Fewer matches than a page in the window: next continues the search past the window's oldest session.
    assert.equal(page.next, `${T0 + (N - TEXT_SCAN_ROWS + 1) * 1000}-${N - TEXT_SCAN_ROWS + 1}`);
  });

  it('past its budget a query gets TW_ERR_STORE_TIMEOUT, and a fresh worker answers the next one', async () => {
    const stats = new Stats();
    const store = new WorkerQueryStore({ file, sensor: 'test', stats, budgetMs: 30 });
    stores.push(store);
    const value = await assertNoStall(() => store.sessions({ text: NEEDLE, limit: 50, offset: 0 }));
    assert.ok(value instanceof Error && isTidewatchError(value), String(value));
    assert.equal(value.code, 'TW_ERR_STORE_TIMEOUT');
    assert.match(value.message, /30 ms budget/);
    assert.ok(stats.get('store_query_timeouts_total') >= 1);
    // The abandoned worker is still inside SQLite; a new one (given the time to start) answers.
    const patient = workerStore(10_000);
    const one = await patient.session(N);
    assert.equal(one?.id, N);
  });

  it('pages by key: the cursor continues where the page ended, ties on time broken by id', async () => {
    const cursorDir = mkdtempSync(join(tmpdir(), 'tw-cursor-'));
    const { db } = openDb(cursorDir);
    after(() => rmSync(cursorDir, { recursive: true, force: true }));
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 130)
      INSERT INTO sessions (id, ts, ended, proto, src, sport, dst, dport, bytes, truncated, close)
        SELECT i, ${T0} + (i / 3) * 1000, ${T0}, 'tcp', '198.18.0.9', 1, '198.18.1.1', 23, 0, 0, 'fin' FROM n;`);
    const store = new SqliteQueryStore(db, 'test');
    const ids: number[] = [];
    let q: SessionQuery = { limit: 50, offset: 0 };
    let page: SessionPage;
    do {
      page = await store.sessions(q);
      assert.equal(page.total, 130);
      ids.push(...page.rows.map((r) => r.id));
      q = { ...q, cursor: parseCursor(page.next ?? '')! };
    } while (page.next);
    const want = Array.from({ length: 130 }, (_, k) => 130 - k).sort(
      (a, b) => Math.floor(b / 3) - Math.floor(a / 3) || b - a,
    );
    assert.deepEqual(ids, want);
    db.close();
  });

  it('a text search goes on past its window from the cursor it returned, to the oldest session', async () => {
    const store = workerStore(60_000);
    const ids: number[] = [];
    const scanned: number[] = [];
    let q: SessionQuery = { text: NEEDLE, limit: 50, offset: 0 };
    for (let round = 0; round < 10; round++) {
      const page = await store.sessions(q);
      ids.push(...page.rows.map((r) => r.id));
      scanned.push(page.scanned!);
      if (!page.next) break;
      q = { ...q, cursor: parseCursor(page.next)! };
    }
    assert.deepEqual(scanned, [TEXT_SCAN_ROWS, TEXT_SCAN_ROWS, TEXT_SCAN_ROWS, N - 3 * TEXT_SCAN_ROWS]);
    assert.deepEqual(ids, needles(1, N));
  });
});
