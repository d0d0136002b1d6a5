// DailyQueue hands the table exactly the calls it got, in order: a table fed through the queue holds the
// same rows, sources and evictions as one fed directly, also when the table grows or evicts mid-queue.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DailyQueue } from './queue.js';
import { DailyTable } from './table.js';

const DAY0 = Date.UTC(2026, 10, 20) / 1000;

type Call =
  | { v4: true; tcp: boolean; port: number; dst: number; src: number; t: number }
  | { v4: false; proto: string; port: number; dst: string; src: string; t: number };

const call: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      v4: fc.constant(true as const),
      tcp: fc.boolean(),
      port: fc.oneof(fc.constantFrom(22, 80, 53), fc.integer({ min: 0, max: 65535 })),
      // Few destinations, sources from a small and a large pool (unsigned and signed 32-bit values).
      dst: fc.constantFrom(0xc6130001, 0xc6130002, 0x0a000001),
      src: fc.oneof(
        fc.integer({ min: 0xc6120000, max: 0xc6120010 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
      ),
      t: fc.integer({ min: DAY0, max: DAY0 + 2 * 86400 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      v4: fc.constant(false as const),
      proto: fc.constantFrom('TCP', 'UDP'),
      port: fc.integer({ min: 0, max: 65535 }),
      dst: fc.constantFrom('2001:2:0:1::1', '2001:2:0:1::2'),
      src: fc.constantFrom('2001:2::100', '2001:2::101', '2001:2::102'),
      t: fc.integer({ min: DAY0, max: DAY0 + 2 * 86400 }),
    }),
  },
);

test('property: a table fed through DailyQueue equals one fed call by call', () => {
  fc.assert(
    fc.property(
      fc.array(call, { minLength: 1, maxLength: 3000 }),
      fc.integer({ min: 1, max: 300 }),
      (calls, maxSources) => {
        const direct = new DailyTable({ maxSources });
        const queued = new DailyTable({ maxSources });
        const q = new DailyQueue(queued);
        for (const c of calls) {
          if (c.v4) {
            direct.addV4(c.tcp, c.port, c.dst, c.src, c.t);
            q.addV4(c.tcp, c.port, c.dst, c.src, c.t);
          } else {
            direct.addRow(c.proto, c.port, c.dst, c.src, c.t);
            q.addRow(c.proto, c.port, c.dst, c.src, c.t);
          }
        }
        q.flush();
        assert.deepEqual(queued.rows(), direct.rows());
        assert.deepEqual(queued.size, direct.size);
        assert.equal(queued.sourcesCount(), direct.sourcesCount());
        assert.equal(queued.evicted, direct.evicted);
        assert.equal(queued.droppedRows, direct.droppedRows);
      },
    ),
    { numRuns: 60 },
  );
});

test('a queue flushed twice, or flushed empty, adds nothing twice', () => {
  const t = new DailyTable({ maxSources: 10 });
  const q = new DailyQueue(t);
  q.flush();
  q.addV4(true, 22, 0xc6130001, 0xc6120001, DAY0);
  q.flush();
  q.flush();
  assert.equal(t.rows()[0]!.count, 1);
  assert.equal(t.size.rows, 1);
});
