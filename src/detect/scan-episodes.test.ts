// Scan episodes under attack: alert budgets per source, prefix and in total, handshake evidence bounded by
// --handshake-window, the block policy judging every episode, and every probe type reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScanEvent } from '../core/events.js';
import { prefixKey } from './alert-budget.js';
import { addrKey } from './lru.js';
import { makeDetector, probe, session, T0 } from './test-helpers.js';

const S = '198.18.0.1';
const sweep = (
  det: ReturnType<typeof makeDetector>['det'],
  src: string,
  t: number,
  kind = 'syn' as const,
) => {
  for (let p = 1; p <= 15; p++) det.onProbe(probe(src, S, p, t + p, kind, { sport: 40000 + p }));
};
const opens = (evs: ScanEvent[]) => evs.filter((e) => e.state === 'open');

test('prefix keys: /24 for IPv4 (also mapped), /48 for IPv6 in any spelling', () => {
  const k = (a: string) => prefixKey(a, addrKey(a));
  assert.equal(k('203.0.113.7'), k('203.0.113.200'));
  assert.notEqual(k('203.0.113.7'), k('203.0.114.7'));
  assert.equal(k('::ffff:203.0.113.9'), k('203.0.113.7'));
  assert.equal(k('2001:db8:1::1'), k('2001:0db8:0001:ffff::2'));
  assert.notEqual(k('2001:db8:1::1'), k('2001:db8:2::1'));
});

test('budgets: per source, per /24 and in total; suppressed counted once per episode, by reason', () => {
  // 60 a minute: 2 per source, 6 per prefix, 60 in total.
  const { det, events, stats } = makeDetector({ maxAlertsPerMinute: 60 });
  // All within a few milliseconds: the buckets refill continuously (one token a second globally here).
  for (let i = 1; i <= 8; i++) sweep(det, `203.0.113.${i}`, T0);
  assert.equal(opens(events).length, 6, 'six per /24');
  assert.equal(stats.get('scan_alerts_suppressed_prefix_total'), 2);
  for (let n = 0; n < 60; n++) sweep(det, `10.${n}.0.1`, T0);
  assert.equal(opens(events).length, 60, 'sixty in total');
  assert.equal(stats.get('scan_alerts_suppressed_global_total'), 6);
  assert.equal(stats.get('scan_alerts_suppressed_total'), 8);
  // One source re-opening (episodes closed, e.g. by eviction) runs into its own budget first.
  const one = makeDetector({ maxAlertsPerMinute: 60 });
  for (let r = 0; r < 3; r++) {
    sweep(one.det, '192.0.2.1', T0 + r * 100);
    one.det.closeAll();
  }
  assert.equal(opens(one.events).length, 2);
  assert.equal(one.stats.get('scan_alerts_suppressed_source_total'), 1);
});

test('a flood of SYN-only episodes never starves an episode with handshake evidence', () => {
  const { det, events, stats } = makeDetector({ maxAlertsPerMinute: 60 });
  // Spoofed sweeps from 200 random sources in 200 prefixes drain the global bucket.
  for (let n = 0; n < 200; n++) sweep(det, `10.${n}.${n}.${n}`, T0);
  assert.equal(opens(events).length, 60);
  const real = '198.51.100.9';
  // nmap -sT without capture: completed connections.
  for (let p = 1; p <= 15; p++)
    det.onProbe(probe(real, S, p, T0 + p, 'connect', { via: 'capture', sport: 41000 + p }));
  const ev = events.find((e) => e.src === real);
  assert.equal(ev?.state, 'open', 'reported from the reserve');
  assert.equal(ev.handshake_completed, true);
  assert.equal(stats.get('scan_alerts_suppressed_global_total'), 140);
});

test('a suppressed episode keeps counting, is judged, and is reported when the budget returns', () => {
  const judged: [string, ScanEvent['state'], boolean][] = [];
  const { det, events, clock, stats } = makeDetector(
    { maxAlertsPerMinute: 1 },
    { judge: (ev, reported) => judged.push([ev.src, ev.state, reported]) },
  );
  sweep(det, '203.0.113.1', T0);
  sweep(det, '198.51.100.2', T0 + 100);
  assert.deepEqual(
    events.map((e) => e.src),
    ['203.0.113.1'],
  );
  assert.deepEqual(judged[1], ['198.51.100.2', 'open', false], 'the block policy judges it all the same');
  for (let p = 16; p <= 40; p++) det.onProbe(probe('198.51.100.2', S, p, T0 + 200 + p));
  clock.now = T0 + 61_000;
  det.sweep();
  const late = events.filter((e) => e.src === '198.51.100.2');
  assert.deepEqual(
    late.map((e) => e.state),
    ['open'],
  );
  assert.equal(late[0]!.probes, 40, 'its state kept growing while it was kept back');
  assert.equal(stats.get('scan_alerts_late_total'), 1);
  clock.now = T0 + 61_000 + 600_000;
  det.sweep();
  assert.deepEqual(
    events.filter((e) => e.src === '198.51.100.2').map((e) => e.state),
    ['open', 'closed'],
  );
  // Never reported: its close tries once more; refused, it is counted.
  sweep(det, '192.0.2.3', clock.now + 1);
  sweep(det, '192.0.2.4', clock.now + 2);
  det.closeAll();
  assert.equal(stats.get('scan_episodes_unreported_total'), 1);
});

test('handshake evidence counts only within --handshake-window before the episode opened', () => {
  const { det, events } = makeDetector({ handshakeWindow: 60_000 });
  const A = '203.0.113.7';
  det.onSession(session(A, 50000, 10, T0)); // one real connection
  // Two hours later a SYN sweep spoofed from that address.
  sweep(det, A, T0 + 2 * 3600_000);
  assert.equal(events[0]!.handshake_completed, false);
  const B = '203.0.113.8';
  det.onSession(session(B, 50000, 10, T0 + 3 * 3600_000));
  sweep(det, B, T0 + 3 * 3600_000 + 50_000); // inside the window
  assert.equal(events[1]!.handshake_completed, true);
});

test('a handshake during an open episode is reported and judged at once', () => {
  const judged: ScanEvent[] = [];
  const { det, events } = makeDetector({}, { judge: (ev) => judged.push(ev) });
  const A = '203.0.113.7';
  sweep(det, A, T0);
  assert.equal(events[0]!.handshake_completed, false);
  det.onProbe(probe(A, S, 80, T0 + 500, 'connect', { via: 'listener', sport: 50000 }));
  assert.deepEqual(
    events.map((e) => [e.state, e.handshake_completed]),
    [
      ['open', false],
      ['update', true],
    ],
  );
  assert.equal(judged.length, 2);
});

test('every probe type is reported: a new type updates at once, probe is the most frequent', () => {
  const { det, events } = makeDetector();
  const A = '203.0.113.7';
  for (let p = 1; p <= 20; p++) det.onProbe(probe(A, S, p, T0 + p, 'syn', { sport: 40000 + p }));
  assert.deepEqual(events[0]!.probe_types, { syn: 15 });
  det.onProbe(probe(A, S, 100, T0 + 100, 'xmas'));
  assert.equal(events.length, 2, 'the first XMAS probe is news at once');
  assert.equal(events[1]!.state, 'update');
  assert.deepEqual(events[1]!.probe_types, { syn: 20, xmas: 1 });
  assert.equal(events[1]!.probe, 'syn');
  for (let p = 101; p <= 130; p++) det.onProbe(probe(A, S, p, T0 + p, 'xmas'));
  assert.equal(events.length, 2, 'more of a known type waits for the next update');
  det.closeAll();
  const closed = events.at(-1)!;
  assert.deepEqual(closed.probe_types, { syn: 20, xmas: 31 });
  assert.equal(closed.probe, 'xmas');
});
