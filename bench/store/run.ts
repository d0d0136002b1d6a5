// Store benchmark: inserts per second (sessions, counters) through the real writer, and the latency of the
// summary and of a 30-day series for one port with N sessions and D days of counters stored.
// Usage: node dist/bench/store/run.js [--sessions 10000000] [--days 30] [--db DIR (kept; reused if filled)]
// Reference in the same run: the same session rows inserted into a bare table without indexes or dedup.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';

import { MAX_PENDING } from '../../src/store/index.js';
import { Retention } from '../../src/store/retention.js';
import { openDb } from '../../src/store/sqlite/db.js';
import { SqliteQueryStore } from '../../src/store/sqlite/queries.js';
import { StoreWriter } from '../../src/store/sqlite/writer.js';
import { fillStore, fmt, geoOf, sessionAt } from './gen.js';

const { values: argv } = parseArgs({
  options: {
    'skip-rates': { type: 'boolean', default: false },
    sessions: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '30' },
    db: { type: 'string' },
    runs: { type: 'string', default: '15' },
  },
});
const N = Number(argv.sessions);
const DAYS = Number(argv.days);
const RUNS = Number(argv.runs);
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 1);
const FROM = NOW - DAYS * DAY;
// As the store: flush every MAX_PENDING rows (the 100 ms timer never fires in a tight loop).
const BATCH = MAX_PENDING;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function rates(): void {
  const dir = mkdtempSync(join(tmpdir(), 'tw-bench-rate-'));
  try {
    const M = 200_000;
    const events = Array.from({ length: M }, (_, i) => sessionAt(i, M, NOW - DAY, DAY));
    const { db } = openDb(dir);
    const w = new StoreWriter(db, { maxPayloadBytes: 8192, maxPending: BATCH, geo: geoOf });
    let t = performance.now();
    for (const e of events) w.addSession(e.s);
    w.flush();
    const sess = M / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let r = 0; r < 4; r++) for (const e of events) w.addAttempt({ ...e.a, time: e.a.time + r * DAY });
    w.flush();
    const att = (4 * M) / ((performance.now() - t) / 1000);
    db.close();
    // Reference: the same rows into one bare table, one transaction per BATCH rows.
    const ref = new Database(join(dir, 'ref.db'));
    ref.pragma('journal_mode = WAL');
    ref.pragma('synchronous = NORMAL');
    ref.exec(
      'CREATE TABLE s (ts INTEGER, proto TEXT, src TEXT, sport INTEGER, dst TEXT, dport INTEGER, data BLOB)',
    );
    const ins = ref.prepare('INSERT INTO s VALUES (?, ?, ?, ?, ?, ?, ?)');
    const tx = ref.transaction((rows: typeof events) => {
      for (const { s } of rows)
        ins.run(
          Date.parse(s.started),
          s.proto,
          s.src,
          s.sport,
          s.dst,
          s.dport,
          Buffer.from(s.payloads[0]!.data, 'base64'),
        );
    });
    t = performance.now();
    for (let i = 0; i < M; i += BATCH) tx(events.slice(i, i + BATCH));
    const refRate = M / ((performance.now() - t) / 1000);
    ref.close();
    console.log(`inserts: sessions ${fmt(sess)}/s (payload dedup, 3 indexes, counters, sources)`);
    console.log(`inserts: attempts ${fmt(att)}/s (minute+hour counters, daily rows, sources)`);
    console.log(
      `reference: bare table, no index, same rows ${fmt(refRate)}/s (sessions at ${(sess / refRate).toFixed(2)}x)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function queries(dir: string): Promise<void> {
  const { db, file } = openDb(dir);
  const q = new SqliteQueryStore(db);
  const count = (t: string): number => (db.prepare(`SELECT count(*) n FROM ${t}`).get() as { n: number }).n;
  const r = new Retention(db, file, {
    dataDir: dir,
    retainDays: 1e5,
    retainCounterDays: 1e5,
    stats: { inc() {}, set() {} } as never,
    log: console as never,
  });
  console.log(
    `stored: ${fmt(count('sessions'))} sessions, ${fmt(count('payloads'))} payloads, ${fmt(count('counters_min'))} minute and ${fmt(count('counters_hour'))} hour counter rows, ${fmt(count('daily'))} daily rows, ${fmt(count('sources'))} sources; ${(r.storeBytes() / 1e9).toFixed(2)} GB`,
  );
  const time = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    await fn();
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await fn();
      xs.push(performance.now() - t);
    }
    console.log(
      `${name}: median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}, ${RUNS} runs)`,
    );
  };
  const to = NOW;
  await time('summary, last 24 h', () => q.summary({ from: to - DAY, to }));
  await time('summary, last 7 days', () => q.summary({ from: to - 7 * DAY, to }));
  await time('summary, ragged 24 h (minute edges)', () =>
    q.summary({ from: to - DAY - 1_234_567, to: to - 1_234_567 }),
  );
  await time('summary, last 30 days', () => q.summary({ from: to - 30 * DAY, to }));
  await time('summary, ragged 7 days (hour and minute edges)', () =>
    q.summary({ from: to - 7 * DAY - 1_234_567, to: to - 1_234_567 }),
  );
  await time('series tcp/22, 30 days by hour', () =>
    q.portSeries({ proto: 'tcp', port: 22, step: 'hour', from: to - 30 * DAY, to }),
  );
  await time('series tcp/22, 30 days by day', () =>
    q.portSeries({ proto: 'tcp', port: 22, step: 'day', from: to - 30 * DAY, to }),
  );
  await time('series tcp/22, 30 days by minute', () =>
    q.portSeries({ proto: 'tcp', port: 22, step: 'minute', from: to - 30 * DAY, to }),
  );
  await time('top ports, 24 h', () => q.topPorts({ from: to - DAY, to, limit: 20 }));
  await time('sources, 24 h, page 1', () => q.sources({ from: to - DAY, to, limit: 50, offset: 0 }));
  await time('sources on tcp/22, 24 h, page 1', () =>
    q.sources({ from: to - DAY, to, port: 22, limit: 50, offset: 0 }),
  );
  await time('sessions, newest 50', () => q.sessions({ limit: 50, offset: 0 }));
  await time('sessions on port 22, 24 h', () =>
    q.sessions({ from: to - DAY, to, port: 22, limit: 50, offset: 0 }),
  );
  await time('sessions, text "boaform", 24 h', () =>
    q.sessions({ from: to - DAY, to, text: 'boaform', limit: 50, offset: 0 }),
  );
  db.close();
}

if (!argv['skip-rates']) rates();
const dir = argv.db ?? mkdtempSync(join(tmpdir(), 'tw-bench-store-'));
try {
  fillStore(dir, { sessions: N, from: FROM, span: DAYS * DAY, batch: BATCH, geo: geoOf, progress: true });
  await queries(dir);
} finally {
  if (!argv.db && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
