// API query benchmark: a payload text search over a store of N sessions (each a random payload of B bytes
// from a pool of 64), run through the worker thread the API uses (sqlite/worker-queries.ts) and, as the
// reference measured in the same run, the same query called on the main thread. For each: wall time, CPU of
// the main thread (the event loop) and the loop's longest pause (a 5 ms timer). Also a deep page of
// sessions by cursor against the same page by OFFSET. Medians over --runs; the load average is printed
// because the machine's 2 cores are shared.
// Usage: node dist/bench/api-queries/run.js [--sessions 200000] [--payload 4096] [--runs 5]
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Stats } from '../../src/core/stats.js';
import { parseCursor, TEXT_SCAN_ROWS, type QueryStore } from '../../src/store/query.js';
import { openDb } from '../../src/store/sqlite/db.js';
import { SqliteQueryStore } from '../../src/store/sqlite/queries.js';
import { WorkerQueryStore } from '../../src/store/sqlite/worker-queries.js';

const { values: argv } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200000' },
    payload: { type: 'string', default: '4096' },
    runs: { type: 'string', default: '5' },
  },
});
const N = Number(argv.sessions);
const B = Number(argv.payload);
const RUNS = Number(argv.runs);
const T0 = Date.UTC(2026, 0, 10);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function mainCpuMs(): number {
  const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function measure(work: () => Promise<unknown>): Promise<{ ms: number; cpu: number; pause: number }> {
  let last = performance.now();
  let pause = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    pause = Math.max(pause, now - last);
    last = now;
  }, 5);
  const t0 = performance.now();
  const c0 = mainCpuMs();
  await work();
  const ms = performance.now() - t0;
  clearInterval(timer);
  return { ms, cpu: mainCpuMs() - c0, pause: Math.max(pause, performance.now() - last) };
}

async function series(name: string, work: () => Promise<unknown>): Promise<number> {
  const m = [];
  for (let i = 0; i < RUNS; i++) m.push(await measure(work));
  const ms = median(m.map((x) => x.ms));
  console.log(
    `${name.padEnd(44)} median ${ms.toFixed(0).padStart(6)} ms  main-thread CPU ` +
      `${String(median(m.map((x) => x.cpu))).padStart(5)} ms  longest loop pause ` +
      `${median(m.map((x) => x.pause))
        .toFixed(0)
        .padStart(5)} ms`,
  );
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'tw-bench-api-'));
try {
  const { db, file } = openDb(dir);
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
    INSERT INTO payloads (id, hash, data, size, first_seen, last_seen)
      SELECT i, randomblob(32), randomblob(${B}), ${B}, ${T0}, ${T0} FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
    INSERT INTO sessions (id, ts, ended, proto, src, sport, dst, dport, bytes, truncated, close, payload_id)
      SELECT i, ${T0} + i * 1000, ${T0} + i * 1000, 'tcp', '198.18.0.' || (i % 250), 40000, '198.18.1.1',
        23, ${B}, 0, 'fin', 1 + i % 64 FROM n;`);
  console.log(
    `${N} sessions, payloads of ${B} bytes, text window ${TEXT_SCAN_ROWS} sessions, ${RUNS} runs, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  const direct: QueryStore = new SqliteQueryStore(db, 'bench');
  const worker = new WorkerQueryStore({ file, sensor: 'bench', stats: new Stats(), budgetMs: 60_000 });
  await worker.session(1); // started before timing
  const search = { text: 'no such bytes', limit: 50, offset: 0 };
  const w = await series('text search, worker thread (the API)', () => worker.sessions(search));
  const d = await series('text search, main thread (reference)', () => direct.sessions(search));
  console.log(
    `per session examined: worker ${((w * 1000) / TEXT_SCAN_ROWS).toFixed(1)} µs, main ${((d * 1000) / TEXT_SCAN_ROWS).toFixed(1)} µs`,
  );
  const deep = Math.min(N - 100, 100_000);
  const first = await direct.sessions({ limit: 1, offset: deep - 1 });
  const cursor = parseCursor(first.next!)!;
  const k = await series(`page after ${deep} sessions by cursor (worker)`, () =>
    worker.sessions({ limit: 50, offset: 0, cursor }),
  );
  const o = await series(`page after ${deep} sessions by OFFSET (worker)`, () =>
    worker.sessions({ limit: 50, offset: deep }),
  );
  console.log(`OFFSET / cursor: ${(o / k).toFixed(1)}x`);
  await worker.close();
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
