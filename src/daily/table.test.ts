// The typed-array daily table against an independent model of its specification
// (test/helpers/daily-table-model.ts) on random operations: same rows, same order, same bounds.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { DailyTableModel } from '../../test/helpers/daily-table-model.js';
import { DailyTable, v4Key } from './table.js';

const DAY0 = Date.UTC(2026, 10, 20) / 1000;
const V4 = ['198.18.0.1', '198.18.0.2', '255.255.255.255', '0.0.0.0', '128.0.0.1', '203.0.113.9'];
const V6 = ['2001:2::1', '2001:2::2', '::ffff:198.18.0.1', 'fe80::1'];
const toU32 = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

type Op =
  | {
      op: 'row';
      proto: string;
      port: number | null;
      dst: string;
      src: string;
      t: number;
      span: number;
      n: number;
    }
  | { op: 'v4'; tcp: boolean; port: number; dst: string; src: string; t: number }
  | { op: 'drop'; day: number };

const addr = fc.constantFrom(...V4, ...V6);
const v4 = fc.constantFrom(...V4);
const port = fc.constantFrom(22, 53, 80, 0, 65535);
const time = (days: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: days * 86400 - 1 });

function ops(days: number, drops: boolean): fc.Arbitrary<Op[]> {
  const row = fc.record({
    op: fc.constant('row' as const),
    proto: fc.constantFrom('TCP', 'UDP', 'ICMP'),
    port: fc.option(port, { nil: null }),
    dst: addr,
    src: addr,
    t: time(days),
    span: fc.integer({ min: 0, max: 100 }),
    n: fc.integer({ min: 1, max: 5 }),
  });
  const fast = fc.record({
    op: fc.constant('v4' as const),
    tcp: fc.boolean(),
    port,
    dst: v4,
    src: v4,
    t: time(days),
  });
  const drop = fc.record({ op: fc.constant('drop' as const), day: fc.integer({ min: 0, max: days }) });
  const one: fc.Arbitrary<Op> = drops ? fc.oneof(row, fast, fast, drop) : fc.oneof(row, fast, fast);
  return fc.array(one, { maxLength: 120 });
}

function run(
  list: Op[],
  maxSources: number,
  maxRows: number,
): { a: DailyTable; b: DailyTableModel; ev: number[] } {
  const ev = [0, 0];
  const a = new DailyTable({ maxSources, maxRows, onEvict: () => ev[0]!++ });
  const b = new DailyTableModel({ maxSources, maxRows, onEvict: () => ev[1]!++ });
  for (const o of list) {
    if (o.op === 'row') {
      // Clamp to the day of `t`, as CSV lines are.
      const last = Math.min(o.t + o.span, Math.floor(o.t / 86400) * 86400 + 86399);
      const ra = a.addRow(o.proto, o.port, o.dst, o.src, DAY0 + o.t, DAY0 + last, o.n);
      const rb = b.addRow(o.proto, o.port, o.dst, o.src, DAY0 + o.t, DAY0 + last, o.n);
      assert.equal(ra, rb);
    } else if (o.op === 'v4') {
      const ra = a.addV4(o.tcp, o.port, toU32(o.dst), toU32(o.src), DAY0 + o.t);
      const rb = b.addRow(o.tcp ? 'TCP' : 'UDP', o.port, o.dst, o.src, DAY0 + o.t);
      assert.equal(ra, rb);
    } else {
      const day = new Date((DAY0 + o.day * 86400) * 1000).toISOString().slice(0, 10);
      a.dropDaysBefore(day);
      b.dropDaysBefore(day);
    }
  }
  return { a, b, ev };
}

function sameState(a: DailyTable, b: DailyTableModel, ev: number[], exactOrder: boolean): void {
  const key = (r: {
    src_ip: string;
    dst_ip: string;
    proto: string;
    dst_port: number | null;
    day: string;
  }): string => `${r.src_ip} ${r.dst_ip} ${r.proto} ${r.dst_port} ${r.day}`;
  const sort = <T extends Parameters<typeof key>[0]>(rs: T[]): T[] =>
    exactOrder ? rs : [...rs].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  assert.deepEqual(sort(a.rows()), sort(b.rows()));
  assert.deepEqual(a.size, b.size);
  assert.equal(a.sourcesCount(), b.sourcesCount());
  assert.equal(a.evicted, b.evicted);
  assert.equal(a.droppedRows, b.droppedRows);
  assert.deepEqual(ev[0], ev[1]);
  assert.deepEqual(a.days(), b.days());
  for (const d of a.days()) assert.deepEqual(sort(a.rows(d)), sort(b.rows(d)));
}

test('property: same rows in the same order as the model (days within 64, no pruning)', () => {
  fc.assert(
    fc.property(
      ops(5, false),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 30 }),
      (list, ms, mr) => {
        const { a, b, ev } = run(list, ms, mr);
        sameState(a, b, ev, true);
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: same rows as the model with day pruning and days 64+ apart (order aside)', () => {
  fc.assert(
    fc.property(
      ops(130, true),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 30 }),
      (list, ms, mr) => {
        const { a, b, ev } = run(list, ms, mr);
        sameState(a, b, ev, false);
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: large random tables (hash growth, eviction walks) match the model', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
      let x = seed;
      const rnd = (n: number): number => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return x % n;
      };
      const a = new DailyTable({ maxSources: 500 });
      const b = new DailyTableModel({ maxSources: 500 });
      for (let i = 0; i < 5000; i++) {
        const src = rnd(2) ? rnd(800) : 0x80000000 + rnd(50);
        const dst = 0xc6120000 + rnd(3);
        const port = rnd(40);
        const tcp = rnd(2) === 0;
        const t = DAY0 + rnd(2 * 86400);
        const s4 = `${src >>> 24}.${(src >>> 16) & 255}.${(src >>> 8) & 255}.${src & 255}`;
        const d4 = `${dst >>> 24}.${(dst >>> 16) & 255}.${(dst >>> 8) & 255}.${dst & 255}`;
        assert.equal(a.addV4(tcp, port, dst, src, t), b.addRow(tcp ? 'TCP' : 'UDP', port, d4, s4, t));
      }
      sameState(a, b, [0, 0], true);
    }),
    { numRuns: 20 },
  );
});

test('v4Key: canonical dotted quads only', () => {
  assert.equal(v4Key('198.18.0.1'), 0xc6120001 | 0);
  assert.equal(v4Key('0.0.0.0'), 0);
  assert.equal(v4Key('255.255.255.255'), -1);
  for (const bad of [
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1..2.3',
    '1.2.3.4 ',
    '::1',
    '',
    '1.2.3.04',
  ])
    assert.equal(v4Key(bad), undefined, bad);
});

test('counts past 2^32 stay exact, also after the rows move (growth, eviction)', () => {
  const a = new DailyTable({ maxSources: 10000 });
  const b = new DailyTableModel({ maxSources: 10000 });
  for (const t of [a, b]) {
    t.addRow('TCP', 22, '198.18.0.1', '198.18.0.2', DAY0, DAY0, 2 ** 32 - 1);
    t.addRow('TCP', 22, '198.18.0.1', '198.18.0.2', DAY0 + 5, DAY0 + 5, 2);
    t.addRow('UDP', 53, '2001:2::1', '2001:2::2', DAY0, DAY0, 2 ** 45 + 3);
    // Thousands more rows: the store grows and rebuilds around them.
    for (let i = 0; i < 5000; i++)
      t.addRow('TCP', i % 100, '198.18.0.9', `198.19.${i >> 8}.${i & 255}`, DAY0 + i);
    t.addRow('UDP', 53, '2001:2::1', '2001:2::2', DAY0 + 9, DAY0 + 9, 2 ** 32);
  }
  assert.deepEqual(a.rows(), b.rows());
  assert.equal(a.rows()[0]!.count, 2 ** 32 + 1);
  assert.equal(a.rows().find((r) => r.proto === 'UDP')!.count, 2 ** 45 + 2 ** 32 + 3);
});

test('write() makes the same file as the model, for all days and for one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-table-'));
  try {
    const a = new DailyTable({ maxSources: 50 });
    const b = new DailyTableModel({ maxSources: 50 });
    for (let i = 0; i < 3000; i++) {
      const src = i % 7 === 0 ? `2001:2::${(i % 90).toString(16)}` : `198.18.${i % 3}.${(i * 7) % 80}`;
      const dst = i % 5 === 0 ? '2001:2::1' : `198.19.0.${i % 4}`;
      const proto = i % 11 === 0 ? 'ICMP' : i % 2 ? 'TCP' : 'UDP';
      for (const t of [a, b]) t.addRow(proto, proto === 'ICMP' ? null : i % 37, dst, src, DAY0 + i * 61);
    }
    for (const day of [undefined, '2026-11-21']) {
      await a.write(join(dir, 'a.csv'), day);
      b.write(join(dir, 'b.csv'), day);
      assert.equal(readFileSync(join(dir, 'a.csv'), 'utf8'), readFileSync(join(dir, 'b.csv'), 'utf8'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('visit() gives the rows of rows(), in the same order, across many sources', () => {
  const t = new DailyTable({ maxSources: 100 });
  for (let i = 0; i < 4000; i++)
    t.addRow(
      i % 3 ? 'TCP' : 'UDP',
      (i * 13) % 50,
      i % 6 ? `198.19.0.${i % 3}` : '2001:2::1',
      `198.18.0.${i % 70}`,
      DAY0 + i,
    );
  const seen: unknown[] = [];
  let pauses = 0;
  for (const _ of t.visit((day, proto, dst_port, dst_ip, src_ip, first_seen, last_seen, count) => {
    seen.push({ day, proto, dst_port, dst_ip, src_ip, first_seen, last_seen, count });
  }, 100))
    pauses++;
  assert.deepEqual(seen, t.rows());
  assert.ok(pauses >= 2, `${pauses} pauses`);
});
