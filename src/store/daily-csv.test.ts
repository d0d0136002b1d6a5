// The daily per-source table and its CSV: Tsusen's format, restart without loss, bounds, UTC rollover.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../config/load.js';
import { EventBus } from '../core/bus.js';
import type { PacketsEvent, ProbeEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { CSV_HEADER, DailyTable, parseRow } from '../daily/table.js';
import { startDailyCsv } from './daily-csv.js';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0); // 2026-11-21 12:00 UTC

function probe(o: Partial<ProbeEvent> = {}): ProbeEvent {
  return {
    type: 'probe',
    time: T0,
    via: 'capture',
    proto: 'tcp',
    kind: 'syn',
    src: '198.18.0.2',
    dst: '198.18.0.1',
    sport: 40000,
    dport: 22,
    ...o,
  };
}

test('TCP rows count connection attempts, UDP rows datagrams; other probe kinds make no row', () => {
  const t = new DailyTable({ maxSources: 10 });
  t.add(probe());
  t.add(probe({ time: T0 + 5000, sport: 40001 }));
  t.add(probe({ kind: 'connect', via: 'listener', time: T0 + 9000 }));
  assert.equal(t.add(probe({ kind: 'fin' })), false);
  assert.equal(t.add(probe({ kind: 'xmas' })), false);
  t.add(probe({ proto: 'udp', kind: 'udp', dport: 53 }));
  const rows = t.rows().map(({ day: _d, ...r }) => r);
  assert.deepEqual(rows, [
    {
      proto: 'TCP',
      dst_port: 22,
      dst_ip: '198.18.0.1',
      src_ip: '198.18.0.2',
      first_seen: T0 / 1000,
      last_seen: T0 / 1000 + 9,
      count: 3,
    },
    {
      proto: 'UDP',
      dst_port: 53,
      dst_ip: '198.18.0.1',
      src_ip: '198.18.0.2',
      first_seen: T0 / 1000,
      last_seen: T0 / 1000,
      count: 1,
    },
  ]);
});

test('regression: a new UDP source port never resets the row (first_seen and count keep)', () => {
  const t = new DailyTable({ maxSources: 10 });
  for (let i = 0; i < 5; i++)
    t.add(probe({ proto: 'udp', kind: 'udp', dport: 161, sport: 1000 + i, time: T0 + i * 1000 }));
  const [r] = t.rows();
  assert.deepEqual([r!.first_seen, r!.last_seen, r!.count], [T0 / 1000, T0 / 1000 + 4, 5]);
});

test('regression: per-source memory is bounded; least recently seen evicted and counted', () => {
  let evicted = 0;
  const t = new DailyTable({ maxSources: 3, onEvict: () => evicted++ });
  for (const s of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) t.add(probe({ src: s }));
  t.add(probe({ src: '203.0.113.1', time: T0 + 1000 })); // .1 is now the most recent
  t.add(probe({ src: '203.0.113.4' })); // evicts .2
  assert.equal(evicted, 1);
  assert.deepEqual(
    t
      .rows()
      .map((r) => r.src_ip)
      .sort(),
    ['203.0.113.1', '203.0.113.3', '203.0.113.4'],
  );
  for (let i = 0; i < 1000; i++) t.add(probe({ src: `203.0.114.${i % 250}`, dport: i }));
  assert.equal(t.size.sources, 3);
  assert.ok(t.size.rows <= 12, `rows ${t.size.rows}`);
  assert.equal(t.sourcesCount(), 3);
  // One source alone cannot exceed the row bound either.
  const one = new DailyTable({ maxSources: 1, maxRows: 10 });
  for (let p = 0; p < 100; p++) one.add(probe({ dport: p }));
  assert.deepEqual([one.size.rows, one.droppedRows], [10, 90]);
});

test('sourcesCount counts only sources that made a TCP connection attempt', () => {
  const t = new DailyTable({ maxSources: 10 });
  t.add(probe({ src: '203.0.113.1' }));
  t.add(probe({ src: '203.0.113.2', proto: 'udp', kind: 'udp' }));
  t.add(probe({ src: '203.0.113.3', kind: 'null' }));
  assert.equal(t.sourcesCount(), 1);
});

test('CSV: exact header, space separated, written atomically, reloaded losslessly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-'));
  const file = join(dir, '2026-11-21.csv');
  const t = new DailyTable({ maxSources: 10 });
  t.add(probe());
  t.add(probe({ proto: 'udp', kind: 'udp', dport: 53, src: '2001:2::2', dst: '2001:2::1' }));
  t.addRow('ICMP', null, '198.18.0.1', '198.18.0.2', T0 / 1000);
  assert.equal(await t.write(file), 3);
  assert.deepEqual(readdirSync(dir), ['2026-11-21.csv']);
  const text = readFileSync(file, 'utf8');
  assert.equal(
    text,
    // Sources in the order they first appeared, rows of a source in insertion order.
    `${CSV_HEADER}\nTCP 22 198.18.0.1 198.18.0.2 ${T0 / 1000} ${T0 / 1000} 1\n` +
      `ICMP - 198.18.0.1 198.18.0.2 ${T0 / 1000} ${T0 / 1000} 1\nUDP 53 2001:2::1 2001:2::2 ${T0 / 1000} ${T0 / 1000} 1\n`,
  );
  const back = new DailyTable({ maxSources: 10 });
  assert.deepEqual(back.load(file), { rows: 3, skipped: 0 });
  assert.deepEqual(back.rows(), t.rows());
});

test('CSV load skips hostile or broken lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-'));
  const file = join(dir, 'x.csv');
  const t0 = T0 / 1000;
  writeFileSync(
    file,
    [
      CSV_HEADER,
      `TCP 22 198.18.0.1 198.18.0.2 ${t0} ${t0} 4`,
      `TCP 70000 198.18.0.1 198.18.0.2 ${t0} ${t0} 1`,
      `TCP 22 ../../etc 198.18.0.2 ${t0} ${t0} 1`,
      `tcp; 22 198.18.0.1 198.18.0.2 ${t0} ${t0} 1`,
      `TCP 22 198.18.0.1 198.18.0.2 ${t0} ${t0 - 1} 1`,
      `TCP 22 198.18.0.1 198.18.0.2 ${t0} ${t0 + 86400} 1`,
      `TCP 22 198.18.0.1 198.18.0.2 ${t0} ${t0} 1 extra`,
      `UDP 53 198.18.0.1 198.18.0.9 ${t0} ${t0} -1`,
    ].join('\n'),
  );
  const t = new DailyTable({ maxSources: 10 });
  assert.deepEqual(t.load(file), { rows: 1, skipped: 7 });
  assert.equal(parseRow(`ICMP - 198.18.0.1 198.18.0.2 ${t0} ${t0} 2`)?.dst_port, null);
});

function ctxFor(dataDir: string, capture: string) {
  const cfg = loadConfig({ env: {}, flags: { 'data-dir': dataDir, capture, flush: '1s' } });
  return { cfg, bus: new EventBus(), log: createLogger('silent'), stats: new Stats() };
}

test('startDailyCsv: capture probes only with --capture, listener probes otherwise; restart loses nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-'));
  const now = (): number => T0;
  const file = join(dir, 'daily', '2026-11-21.csv');

  const a = ctxFor(dir, 'eth0');
  const c1 = await startDailyCsv(a, { now });
  a.bus.emit(probe());
  a.bus.emit(probe({ via: 'listener', kind: 'connect' })); // the same connection seen by the listener
  await c1.close();
  assert.match(readFileSync(file, 'utf8'), /^TCP 22 198\.18\.0\.1 198\.18\.0\.2 \d+ \d+ 1$/m);

  const b = ctxFor(dir, '');
  const c2 = await startDailyCsv(b, { now });
  b.bus.emit(probe({ via: 'listener', kind: 'connect', time: T0 + 60_000 }));
  b.bus.emit(probe()); // capture probe without --capture: ignored
  await c2.close();
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.deepEqual(lines, [CSV_HEADER, `TCP 22 198.18.0.1 198.18.0.2 ${T0 / 1000} ${T0 / 1000 + 60} 2`]);
});

test('startDailyCsv: rolls over at UTC midnight; late probes never overwrite a closed day', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-'));
  let clock = Date.UTC(2026, 10, 21, 23, 59, 59);
  const ctx = ctxFor(dir, 'any');
  const c = await startDailyCsv(ctx, { now: () => clock });
  ctx.bus.emit(probe({ time: clock }));
  await c.flush();
  clock += 2000; // 2026-11-22 00:00:01
  ctx.bus.emit(probe({ time: clock, dport: 23 }));
  await c.flush(); // writes both days, then forgets the 21st
  ctx.bus.emit(probe({ time: clock - 5000, dport: 24 })); // a late packet of the 21st
  await c.close();
  const d21 = readFileSync(join(dir, 'daily', '2026-11-21.csv'), 'utf8')
    .trim()
    .split('\n');
  const d22 = readFileSync(join(dir, 'daily', '2026-11-22.csv'), 'utf8')
    .trim()
    .split('\n');
  assert.deepEqual([d21.length, d21[1]!.split(' ')[1]], [2, '22']);
  assert.deepEqual([d22.length, d22[1]!.split(' ')[1]], [2, '23']);
  assert.equal(ctx.stats.get('daily_late_probes_total'), 1);
  assert.ok(!existsSync(join(dir, 'daily', '2026-11-21.csv.tmp-' + process.pid)));
});

test('startDailyCsv: evictions are counted in stats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-'));
  const cfg = loadConfig({ env: {}, flags: { 'data-dir': dir, 'max-sources': '2' } });
  const ctx = { cfg, bus: new EventBus(), log: createLogger('silent'), stats: new Stats() };
  const c = await startDailyCsv(ctx, { now: () => T0 });
  for (let i = 1; i <= 5; i++)
    ctx.bus.emit(probe({ via: 'listener', kind: 'connect', src: `203.0.113.${i}` }));
  await c.close();
  assert.equal(ctx.stats.get('daily_sources_evicted_total'), 3);
});

test('startDailyCsv: a packets event passing by carries the evictions of its interval', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-'));
  const cfg = loadConfig({ env: {}, flags: { 'data-dir': dir, 'max-sources': '2' } });
  const ctx = { cfg, bus: new EventBus(), log: createLogger('silent'), stats: new Stats() };
  const c = await startDailyCsv(ctx, { now: () => T0 });
  const seen: number[] = [];
  ctx.bus.on('packets', (ev) => seen.push(ev.drops.evicted_sources)); // an export, started after the table
  const interval = (): PacketsEvent => ({
    type: 'packets',
    ts: new Date(T0).toISOString(),
    sensor: 'test',
    interval_s: 1,
    packets: 0,
    malformed: 0,
    tcp: { all: {}, syn: {} },
    udp: {},
    ip_protocols: {},
    ethertypes: {},
    drops: { kernel: 0, ifdrop: 0, evicted_sources: 0 },
  });
  for (let i = 1; i <= 5; i++)
    ctx.bus.emit(probe({ via: 'listener', kind: 'connect', src: `203.0.113.${i}` }));
  ctx.bus.emit(interval());
  ctx.bus.emit(probe({ via: 'listener', kind: 'connect', src: '203.0.113.9' }));
  ctx.bus.emit(interval());
  ctx.bus.emit(interval());
  await c.close();
  ctx.bus.emit(interval());
  assert.deepEqual(seen, [3, 1, 0, 0]);
});

test('rows of days 64 days apart (same packed key) stay apart', () => {
  const t = new DailyTable({ maxSources: 10 });
  t.add(probe());
  t.add(probe({ time: T0 + 64 * 86400_000 }));
  t.add(probe({ time: T0 + 64 * 86400_000 + 1000 }));
  t.add(probe({ time: T0 + 1000 }));
  assert.deepEqual(
    t.rows().map((r) => [r.day, r.count]),
    [
      ['2026-11-21', 2],
      ['2027-01-24', 2],
    ],
  );
  assert.deepEqual(t.days(), ['2026-11-21', '2027-01-24']);
  t.dropDaysBefore('2027-01-01');
  assert.deepEqual(t.size, { sources: 1, rows: 1 });
  assert.deepEqual(t.days(), ['2027-01-24']);
  // Evicting the last source empties the day list too.
  const one = new DailyTable({ maxSources: 1 });
  one.add(probe({ src: '203.0.113.1', time: T0 - 86400_000 }));
  one.add(probe({ src: '203.0.113.2' }));
  assert.deepEqual(one.days(), ['2026-11-21']);
});

test('write of a large table yields to the event loop and never writes a row twice while rows change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-daily-'));
  const file = join(dir, 'big.csv');
  const t = new DailyTable({ maxSources: 100_000 });
  const src = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  for (let i = 0; i < 60_000; i++) t.add(probe({ src: src(i), dport: 1 + (i % 1000) }));
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    // Touch old sources (they move in the recency order) and add new ones while the file is written.
    for (let j = 0; j < 200; j++)
      t.add(probe({ src: src((ticks * 977 + j) % 60_000), dport: 1 + (j % 1000) }));
    t.add(probe({ src: src(60_000 + ticks) }));
  }, 0);
  const n = await t.write(file);
  clearInterval(timer);
  assert.ok(ticks > 0, 'the event loop ran during the write');
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
  assert.equal(lines.length, n);
  const keys = lines.map((l) => l.split(' ').slice(0, 4).join(' '));
  assert.equal(new Set(keys).size, keys.length, 'no row written twice');
  assert.ok(n >= 60_000);
  assert.deepEqual(t.days(), ['2026-11-21']);
});

test('fuzz: CSV lines of random text never throw and never make invalid rows', async () => {
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.string({ maxLength: 120 }), (line) => {
      const r = parseRow(line);
      if (r) {
        assert.ok(r.count >= 0 && r.last_seen >= r.first_seen);
        assert.ok(r.dst_port === null || (r.dst_port >= 0 && r.dst_port <= 65535));
      }
    }),
    { numRuns: 5000 },
  );
});
