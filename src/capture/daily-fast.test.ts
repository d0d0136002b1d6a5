// The daily sink's fast path (PacketCounters -> DailyTable.addV4/addRow, no probe events) keeps exactly
// the rows that probe events through DailyTable.add() keep, on the generator's packet mix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { batch, ether, type BatchFrame } from '../../test/helpers/pcap-frames.js';
import { PacketMaker, rng } from '../../test/helpers/pcap-mix.js';
import { DailyTable } from '../daily/table.js';
import { rowJsonWriter } from './analyze.js';
import { PacketCounters } from './counters.js';

function frames(seed: number, n: number): BatchFrame[] {
  const r = rng(seed);
  const maker = new PacketMaker(r, false, false);
  const out: BatchFrame[] = [];
  for (let i = 0; i < n; i++) {
    const [type, net] = maker.make();
    const frame = type < 0 ? net : ether(type, net);
    // Times over three UTC days; some microsecond fields out of range, as a damaged file may hold.
    const tsSec = 1_763_683_200 + Math.floor(r() * 3 * 86400);
    const tsUsec = r() < 0.05 ? Math.floor(r() * 0xffffffff) : Math.floor(r() * 1e6);
    out.push({ frame, tsSec, tsUsec });
  }
  return out;
}

test('property: the fast path and probe events make the same daily rows, sources and evictions', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.integer({ min: 1, max: 400 }),
      (seed, maxSources) => {
        const fs = frames(seed, 600);
        const buf = batch(fs);
        const fast = new DailyTable({ maxSources });
        const slow = new DailyTable({ maxSources });
        const a = new PacketCounters({ excludePrivate: false, onlyDst: [], daily: fast });
        const b = new PacketCounters({ excludePrivate: false, onlyDst: [], onProbe: (p) => slow.add(p) });
        a.addBatch(buf, fs.length, 1);
        b.addBatch(buf, fs.length, 1);
        assert.deepEqual(a.snapshot(), b.snapshot());
        assert.ok(fast.size.rows > 0);
        assert.deepEqual(fast.rows(), slow.rows());
        assert.equal(fast.sourcesCount(), slow.sourcesCount());
        assert.equal(fast.evicted, slow.evicted);
        assert.deepEqual(fast.size, slow.size);
      },
    ),
    { numRuns: 100 },
  );
});

test('property: rowJsonWriter writes exactly what JSON.stringify writes, joined by commas', () => {
  const text = fc.oneof(
    fc.constantFrom('198.18.0.1', '2001:2::1', 'TCP', '2026-11-21', ''),
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
  );
  const row = fc.record({
    day: text,
    proto: text,
    dst_port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
    dst_ip: text,
    src_ip: text,
    first_seen: fc.oneof(fc.integer({ min: 0, max: 2 ** 33 }), fc.constantFrom(-1, 0.5, 2 ** 60, NaN)),
    last_seen: fc.integer({ min: 0, max: 2 ** 33 }),
    count: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.constant(2 ** 40 + 1)),
  });
  fc.assert(
    fc.property(fc.array(fc.oneof(row, fc.constant('take' as const)), { maxLength: 30 }), (items) => {
      const w = rowJsonWriter();
      let got = '';
      const rows = [];
      for (const r of items) {
        if (r === 'take') {
          got += w.take().toString('utf8');
          continue;
        }
        // Repeat some rows' strings as the table does (same day, source, destination in a row).
        rows.push(r);
        w.onRow(r.day, r.proto, r.dst_port, r.dst_ip, r.src_ip, r.first_seen, r.last_seen, r.count);
      }
      got += w.take().toString('utf8');
      assert.equal(got, rows.map((r) => JSON.stringify(r)).join(','));
    }),
    { numRuns: 2000 },
  );
});
