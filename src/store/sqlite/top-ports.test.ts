// Top ports over several days from each day's busiest ports must equal the full sum, on skewed traffic with a
// long random tail, for many ranges, limits and protocols.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type Database from 'better-sqlite3';

import type { PortCount } from '../query.js';
import { CounterQueries } from './counter-queries.js';
import { openDb } from './db.js';
import { topPortsByDays } from './top-ports.js';
import { StoreWriter } from './writer.js';

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 4, 1);

describe('top ports over several days', () => {
  let dir: string;
  let db: Database.Database;
  let cq: CounterQueries;
  let scan: (q: { from: number; to: number; proto?: 'tcp' | 'udp'; limit: number }) => PortCount[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-top-'));
    ({ db } = openDb(dir));
    const w = new StoreWriter(db, { maxPayloadBytes: 100, maxPending: 20_000 });
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 60_000; i++) {
      const time = D0 + Math.floor(rnd() * 6 * DAY);
      const hot = rnd() < 0.7;
      const dport = hot
        ? [22, 23, 80, 443, 445, 3389, 8080, 25, 53, 5900, 6379, 2323][Math.floor(12 * rnd() ** 2)]!
        : 1 + Math.floor(rnd() * 3000);
      const proto = dport === 53 || rnd() < 0.1 ? 'udp' : 'tcp';
      w.addAttempt({
        time,
        proto,
        src: `203.0.113.${i % 200}`,
        dst: '198.18.0.1',
        dport,
        isNew: rnd() < 0.9,
      });
    }
    w.flush();
    const stmts = new Map<string, ReturnType<Database.Database['prepare']>>();
    const st = (sql: string): ReturnType<Database.Database['prepare']> => {
      let s = stmts.get(sql);
      if (!s) stmts.set(sql, (s = db.prepare(sql)));
      return s;
    };
    cq = new CounterQueries(st);
    scan = (q) => (cq as unknown as { scanPorts: typeof scan }).scanPorts(q);
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('equals the full sum and takes the fast path when the head is clear', () => {
    let fast = 0;
    const ranges = [
      { from: D0, to: D0 + 6 * DAY },
      { from: D0 + 3_600_000 * 5 + 12_345, to: D0 + 5 * DAY - 777_000 },
      { from: D0 - DAY, to: D0 + 3 * DAY },
      { from: D0 + DAY / 2, to: D0 + 3 * DAY + DAY / 3 },
    ];
    for (const r of ranges)
      for (const limit of [1, 5, 10, 40])
        for (const proto of [undefined, 'tcp', 'udp'] as const) {
          const q = { ...r, limit, ...(proto ? { proto } : {}) };
          const full = scan(q);
          const quick = topPortsByDays(
            (sql) => db.prepare(sql),
            q,
            (rr, l) => scan({ ...rr, limit: l }),
          );
          if (quick) {
            fast++;
            assert.deepEqual(quick, full, JSON.stringify(q));
          }
          assert.deepEqual(cq.topPorts(q), full, JSON.stringify(q));
        }
    assert.ok(fast >= 20, `fast path taken ${fast} times`);
  });

  it('declines ranges shorter than two whole days', () => {
    assert.equal(
      topPortsByDays(
        (sql) => db.prepare(sql),
        { from: D0 + 1000, to: D0 + 2 * DAY, limit: 5 },
        () => [],
      ),
      undefined,
    );
  });
});
