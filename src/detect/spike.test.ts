import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpikeEvent } from '../core/events.js';
import { DistinctCounter, hash32 } from './hll.js';
import { SpikeDetector } from './spike.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

// A deterministic pseudo-random series (LCG) so the noisy port is noisy but reproducible.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Hourly intervals, score 4, at least 10 per interval; spikes go to out. */
function detector(out: SpikeEvent[]): SpikeDetector {
  return new SpikeDetector({
    sensor: 't',
    intervalMs: H,
    score: 4,
    minCount: 10,
    emit: (e) => out.push(e),
    now: T0,
  });
}

function run(series: Record<number, number[]>, hours: number): SpikeEvent[] {
  const out: SpikeEvent[] = [];
  const d = detector(out);
  for (let h = 0; h < hours; h++) {
    for (const [port, counts] of Object.entries(series))
      for (let i = 0; i < counts[h]!; i++)
        d.observe('tcp', Number(port), `10.${h}.${i >> 8}.${i & 255}`, T0 + h * H + i);
  }
  d.roll(T0 + hours * H);
  return out;
}

test('a quiet port that jumps raises one spike with its baseline', () => {
  const quiet = Array.from({ length: 48 }, (_, h) => (h === 40 ? 60 : h % 5 === 0 ? 1 : 0));
  const spikes = run({ 2323: quiet }, 48);
  assert.equal(spikes.length, 1);
  const s = spikes[0]!;
  assert.equal(s.dport, 2323);
  assert.equal(s.proto, 'tcp');
  assert.equal(s.count, 60);
  assert.equal(s.interval_s, 3600);
  assert.equal(s.baseline.method, 'ewma');
  assert.ok(s.baseline.mean < 1);
  assert.ok(s.score >= 4);
  assert.equal(s.ts, new Date(T0 + 41 * H).toISOString());
});

test('a noisy port that does not jump stays quiet', () => {
  const r = lcg(7);
  const noisy = Array.from({ length: 72 }, () => Math.round(80 + (r() - 0.5) * 80)); // 40..120
  assert.deepEqual(run({ 22: noisy }, 72), []);
});

test('a jump below the minimum count is no spike', () => {
  const small = Array.from({ length: 24 }, (_, h) => (h === 20 ? 9 : 0));
  assert.deepEqual(run({ 5555: small }, 24), []);
});

test('no spike during the warm-up intervals', () => {
  const early = Array.from({ length: 10 }, (_, h) => (h === 1 ? 100 : 0));
  assert.deepEqual(run({ 80: early }, 10), []);
});

test('empty intervals decay the baseline; state stays bounded', () => {
  const out: SpikeEvent[] = [];
  const d = detector(out);
  for (let h = 0; h < 5; h++) for (let i = 0; i < 30; i++) d.observe('udp', 53, `10.0.0.${i}`, T0 + h * H);
  d.roll(T0 + 5 * H);
  assert.ok(d.baseline('udp', 53)!.mean > 29);
  d.roll(T0 + 500 * H);
  assert.ok((d.baseline('udp', 53)?.mean ?? 0) < 5);
});

test('HyperLogLog: exact up to a threshold asked for (--campaign-min-sources above 64)', () => {
  const c = new DistinctCounter(1000);
  for (let i = 0; i < 1000; i++) c.add(hash32(`10.0.${i >> 8}.${i & 255}`));
  assert.equal(c.count, 1000);
  c.add(hash32('10.9.9.9'));
  assert.ok(Math.abs(c.count - 1001) / 1001 < 0.15, String(c.count));
});

test('HyperLogLog: exact while small, within 15 % when large', () => {
  const c = new DistinctCounter();
  for (let i = 0; i < 64; i++) c.add(hash32(`10.0.0.${i}`));
  for (let i = 0; i < 64; i++) c.add(hash32(`10.0.0.${i}`));
  assert.equal(c.count, 64);
  for (const n of [1000, 20000]) {
    const d = new DistinctCounter();
    for (let i = 0; i < n; i++) d.add(hash32(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`));
    assert.ok(Math.abs(d.count - n) / n < 0.15, `${n}: ${d.count}`);
  }
});
