import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HttpError } from './http-util.js';
import { checkDay, Params, parseTime } from './params.js';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const p = (q: string, allowed: string[]): Params => new Params(new URLSearchParams(q), allowed, NOW);
const is400 = (fn: () => unknown, msg: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof HttpError && e.status === 400 && msg.test(e.message));

test('times: ms, ISO 8601 (UTC unless an offset is given), -duration', () => {
  assert.equal(parseTime('1700000000000', 'from', NOW), 1700000000000);
  assert.equal(parseTime('2026-01-31', 'from', NOW), Date.UTC(2026, 0, 31));
  assert.equal(parseTime('2026-01-31T10:00', 'from', NOW), Date.UTC(2026, 0, 31, 10));
  assert.equal(parseTime('2026-01-31 10:00:00', 'from', NOW), Date.UTC(2026, 0, 31, 10));
  assert.equal(parseTime('2026-01-31T10:00:00+02:00', 'from', NOW), Date.UTC(2026, 0, 31, 8));
  assert.equal(parseTime('-24h', 'from', NOW), NOW - 86_400_000);
  for (const bad of ['yesterday', '-', '-x', '2026-13-01', '2026-01-31T25:00:00Z', '1e9', ' 1', '0x10'])
    is400(() => parseTime(bad, 'from', NOW), /from must be/);
});

test('ranges: defaults, order, caps', () => {
  assert.deepEqual(p('', ['from', 'to']).range(3_600_000), { from: NOW - 3_600_000, to: NOW });
  is400(() => p('from=2000&to=1000', ['from', 'to']).range(1), /must not be after/);
  is400(() => p('from=-401d', ['from', 'to']).range(1), /400 days/);
});

test('unknown, repeated and malformed parameters are refused with their name', () => {
  is400(() => p('x=1', ['port']), /unknown parameter "x"/);
  is400(() => p('port=1&port=2', ['port']), /more than once/);
  for (const v of ['0', '65536', '-1', '1.5', 'abc', '080000', ' 80'])
    is400(() => p(`port=${encodeURIComponent(v)}`, ['port']).port(), /port/);
  assert.equal(p('port=65535', ['port']).port(), 65535);
  assert.equal(p('', ['port']).port(), undefined);
  is400(() => p('', ['port']).requiredPort(), /required/);
  is400(() => p('src=1.2.3.4.5', ['src']).ip('src'), /src must be/);
  assert.equal(p('src=2001:2::2', ['src']).ip('src'), '2001:2::2');
  is400(() => p('limit=1001', ['limit', 'offset']).page(10, 1000), /limit/);
  is400(() => p('offset=2000000', ['limit', 'offset']).page(10, 1000), /offset/);
  assert.deepEqual(p('', ['limit', 'offset']).page(10, 1000), { limit: 10, offset: 0 });
  is400(() => p('proto=icmp', ['proto']).choice('proto', ['tcp', 'udp']), /tcp, udp/);
});

test('days must exist in the calendar', () => {
  assert.equal(checkDay('2024-02-29', 'day'), '2024-02-29');
  for (const d of ['2023-02-29', '2026-1-1', '../etc', '2026-01-01x', ''])
    is400(() => checkDay(d, 'day'), /YYYY-MM-DD/);
});

test('any query string either parses or is a 400, never another error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 30 }), (k, v) => {
      const q = new URLSearchParams();
      q.set(k, v);
      try {
        const x = new Params(q, ['port', 'from', 'to', 'src', 'limit', 'offset', 'text'], NOW);
        x.port();
        x.range(1000);
        x.ip('src');
        x.page(10, 100);
        x.text('text');
      } catch (e) {
        assert.ok(e instanceof HttpError && e.status === 400, String(e));
      }
    }),
  );
});
