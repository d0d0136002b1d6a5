import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeDetector, probe, session, T0 } from './test-helpers.js';

const A = '203.0.113.7';
const S = '198.18.0.1';

test('vertical: 14 distinct ports raise nothing, the 15th opens one scan', () => {
  const { det, events } = makeDetector();
  for (let i = 0; i < 14; i++) det.onProbe(probe(A, S, 1000 + i, T0 + i * 1000, 'syn', { sport: 50000 }));
  assert.equal(events.length, 0);
  det.onProbe(probe(A, S, 2000, T0 + 14_000, 'syn', { sport: 50000 }));
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.equal(e.state, 'open');
  assert.equal(e.src, A);
  assert.equal(e.kind, 'vertical');
  assert.equal(e.probe, 'syn');
  assert.equal(e.ports, 15);
  assert.equal(e.hosts, 1);
  assert.equal(e.probes, 15);
  assert.equal(e.window_s, 300);
  assert.equal(e.handshake_completed, false);
  assert.equal(e.action, 'logged');
  assert.equal(e.first_seen, new Date(T0).toISOString());
  assert.equal(e.last_seen, new Date(T0 + 14_000).toISOString());
});

test('IPv6 and high IPv4 sources are reported as they came', () => {
  const { det, events } = makeDetector();
  for (const src of ['2001:db8::7', '255.254.253.252', '0.0.0.1'])
    for (let p = 1; p <= 15; p++) det.onProbe(probe(src, '2001:2::1', p, T0 + p, 'syn', { sport: 50000 }));
  assert.deepEqual(
    events.map((e) => e.src),
    ['2001:db8::7', '255.254.253.252', '0.0.0.1'],
  );
});

test('repeated probes to the same port never make a scan', () => {
  const { det, events } = makeDetector();
  for (let i = 0; i < 500; i++) det.onProbe(probe(A, S, 22, T0 + i * 100, 'syn', { sport: 50000 }));
  assert.equal(events.length, 0);
});

test('ports spread wider than the window raise nothing', () => {
  const { det, events } = makeDetector();
  // 30 ports, one every 30 s: never more than 11 in a 5-minute window.
  for (let i = 0; i < 30; i++) det.onProbe(probe(A, S, 1000 + i, T0 + i * 30_000, 'syn', { sport: 50000 }));
  assert.equal(events.length, 0);
  assert.ok(det.windowOf(A, T0 + 29 * 30_000)!.ports <= 11);
});

test('horizontal: 24 addresses raise nothing, the 25th opens a horizontal scan', () => {
  const { det, events } = makeDetector();
  for (let i = 1; i <= 24; i++) det.onProbe(probe(A, `198.18.1.${i}`, 23, T0 + i, 'syn', { sport: 50000 }));
  assert.equal(events.length, 0);
  det.onProbe(probe(A, '198.18.1.25', 23, T0 + 25, 'syn', { sport: 50000 }));
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'horizontal');
  assert.equal(events[0]!.hosts, 25);
  assert.equal(events[0]!.ports, 1);
});

test('block: 5 ports on 4 hosts raise nothing, on the 5th host a block scan', () => {
  const { det, events } = makeDetector();
  let t = T0;
  for (let h = 1; h <= 4; h++)
    for (let p = 0; p < 5; p++) det.onProbe(probe(A, `198.18.1.${h}`, 80 + p, t++, 'syn', { sport: 50000 }));
  assert.equal(events.length, 0);
  det.onProbe(probe(A, '198.18.1.5', 80, t++, 'syn', { sport: 50000 }));
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'block');
  assert.equal(events[0]!.ports, 5);
  assert.equal(events[0]!.hosts, 5);
});

test('one episode: open, rate-limited updates while it grows, closed after the gap, same id', () => {
  const { det, events, clock } = makeDetector();
  let t = T0;
  for (let p = 1; p <= 15; p++) det.onProbe(probe(A, S, p, (t += 100), 'syn', { sport: 50000 }));
  for (let p = 16; p <= 300; p++) det.onProbe(probe(A, S, p, (t += 100), 'syn', { sport: 50000 }));
  // 28.5 s later: still inside the first minute, no update yet.
  assert.deepEqual(
    events.map((e) => e.state),
    ['open'],
  );
  for (let p = 301; p <= 400; p++) det.onProbe(probe(A, S, p, (t += 400), 'syn', { sport: 50000 }));
  const updates = events.filter((e) => e.state === 'update');
  assert.equal(updates.length, 1, 'one update per minute at most');
  assert.ok(updates[0]!.ports > 15);
  clock.now = t + 5 * 60_000;
  det.sweep();
  assert.equal(events.filter((e) => e.state === 'closed').length, 0, 'not closed before the gap');
  clock.now = t + 10 * 60_000;
  det.sweep();
  const closed = events.filter((e) => e.state === 'closed');
  assert.equal(closed.length, 1);
  // Exact up to 128 distinct ports, then a linear-counting estimate.
  assert.ok(Math.abs(closed[0]!.ports - 400) <= 8, `ports ${closed[0]!.ports}`);
  assert.equal(closed[0]!.probes, 400);
  assert.ok(events.every((e) => e.id === events[0]!.id));
  assert.equal(events.filter((e) => e.state === 'open').length, 1);
  assert.equal(det.openEpisodes, 0);
  // After the episode a new burst is a new episode with a new id.
  for (let p = 1; p <= 15; p++) det.onProbe(probe(A, S, p, clock.now + p, 'syn', { sport: 50000 }));
  const opens = events.filter((e) => e.state === 'open');
  assert.equal(opens.length, 2);
  assert.notEqual(opens[1]!.id, opens[0]!.id);
});

test('closeAll at shutdown closes open episodes', () => {
  const { det, events } = makeDetector();
  for (let p = 1; p <= 15; p++) det.onProbe(probe(A, S, p, T0 + p, 'syn', { sport: 50000 }));
  det.closeAll();
  assert.deepEqual(
    events.map((e) => e.state),
    ['open', 'closed'],
  );
});

test('memory is bounded by maxSources: least recently seen evicted and counted', () => {
  const { det, stats } = makeDetector({ maxSources: 100 });
  for (let i = 0; i < 250; i++) det.onProbe(probe(`10.0.${i >> 8}.${i & 255}`, S, 80, T0 + i));
  assert.equal(det.size, 100);
  assert.equal(stats.get('detect_sources_evicted_total'), 150);
  // The most recent ones are kept.
  assert.ok(det.windowOf('10.0.0.249', T0 + 300));
  assert.equal(det.windowOf('10.0.0.0', T0 + 300), undefined);
});

test('an evicted source with an open episode is closed, not leaked', () => {
  const { det, events } = makeDetector({ maxSources: 2 });
  for (let p = 1; p <= 15; p++) det.onProbe(probe(A, S, p, T0 + p));
  det.onProbe(probe('10.0.0.1', S, 80, T0 + 100));
  det.onProbe(probe('10.0.0.2', S, 80, T0 + 101));
  assert.deepEqual(
    events.map((e) => e.state),
    ['open', 'closed'],
  );
  assert.equal(det.openEpisodes, 0);
});

for (const kind of ['syn', 'fin', 'null', 'xmas', 'ack', 'maimon', 'udp'] as const) {
  test(`probe type ${kind} is reported as the episode's probe`, () => {
    const { det, events } = makeDetector();
    for (let p = 1; p <= 15; p++) det.onProbe(probe(A, S, p, T0 + p, kind, { sport: 50000 }));
    assert.ok(events.length >= 1);
    assert.equal(events[0]!.probe, kind);
    assert.ok(events.every((e) => e.probe === kind));
  });
}

test('capture on: listener connects relabel SYNs as connect and are not counted twice', () => {
  const { det, events } = makeDetector();
  for (let p = 1; p <= 15; p++) {
    det.onProbe(probe(A, S, p, T0 + p * 10, 'syn', { sport: 40000 + p }));
    det.onProbe(
      probe(A, S, p, T0 + p * 10 + 1, 'connect', { sport: 40000 + p, via: 'listener', handshake: true }),
    );
  }
  assert.equal(events.length, 1);
  assert.equal(events[0]!.probe, 'connect');
  assert.equal(events[0]!.probes, 15);
  assert.equal(events[0]!.handshake_completed, true);
});

test('capture on: a listener connect delivered before its SYN makes that SYN a connect', () => {
  const { det, events } = makeDetector();
  for (let p = 1; p <= 15; p++) {
    det.onProbe(
      probe(A, S, p, T0 + p * 10, 'connect', { sport: 40000 + p, via: 'listener', handshake: true }),
    );
    det.onProbe(probe(A, S, p, T0 + p * 10 + 5, 'syn', { sport: 40000 + p }));
  }
  assert.equal(events.length, 1);
  assert.equal(events[0]!.probe, 'connect');
  assert.equal(events[0]!.probes, 15);
  assert.equal(events[0]!.handshake_completed, true);
  // A SYN scan from the same host afterwards (other source ports) stays syn.
  const { det: d2, events: e2 } = makeDetector();
  d2.onProbe(probe(A, S, 1, T0, 'connect', { sport: 1, via: 'listener', handshake: true }));
  for (let p = 1; p <= 15; p++) d2.onProbe(probe(A, S, p, T0 + p, 'syn', { sport: 50000 }));
  assert.equal(e2[0]!.probe, 'syn');
  assert.equal(e2[0]!.handshake_completed, true);
});

test('capture on: kernel SYNs to closed ports plus handshakes on open ones are a connect() scan', () => {
  const linux = { options: [2, 4, 8, 1, 3] };
  const { det, events } = makeDetector();
  for (let p = 1; p <= 15; p++) {
    det.onProbe(probe(A, S, p, T0 + p * 10, 'syn', { sport: 40000 + p, ...linux }));
    if (p === 3) det.onProbe(probe(A, S, p, T0 + p * 10 + 1, 'connect', { sport: 40003, via: 'listener' }));
  }
  assert.equal(events[0]!.probe, 'connect');
});

test('capture on: a raw SYN scan after a few ordinary connections stays a syn scan', () => {
  const { det, events } = makeDetector();
  for (let i = 0; i < 3; i++) {
    det.onProbe(probe(A, S, 80, T0 + i, 'connect', { sport: 30000 + i, via: 'listener' }));
    det.onProbe(probe(A, S, 80, T0 + i + 1, 'syn', { sport: 30000 + i, options: [2, 4, 8, 1, 3] }));
  }
  for (let p = 1; p <= 15; p++)
    det.onProbe(probe(A, S, p, T0 + 100 + p, 'syn', { sport: 50000, options: [2], mss: 1460 }));
  assert.equal(events[0]!.probe, 'syn');
  assert.equal(events[0]!.handshake_completed, true);
});

test('capture off: listener probes are counted', () => {
  const { det, events } = makeDetector({}, { countVia: 'listener' });
  for (let p = 1; p <= 15; p++)
    det.onProbe(probe(A, S, p, T0 + p, 'connect', { sport: 40000 + p, via: 'listener', handshake: true }));
  assert.equal(events.length, 1);
  assert.equal(events[0]!.probe, 'connect');
  assert.equal(events[0]!.handshake_completed, true);
  // and capture probes are not (there should be none, but they must not be counted twice)
  const { det: d2, events: e2 } = makeDetector({}, { countVia: 'listener' });
  for (let p = 1; p <= 20; p++) d2.onProbe(probe(A, S, p, T0 + p));
  assert.equal(e2.length, 0);
});

test('TRW: three SYN-only failures decide nothing, the fourth opens a trw scan', () => {
  const { det, events, clock } = makeDetector();
  for (let p = 1; p <= 3; p++) det.onProbe(probe(A, S, 1000 + p, T0 + p, 'syn', { sport: 40000 + p }));
  clock.now = T0 + 11_000;
  det.sweep();
  assert.equal(events.length, 0);
  det.onProbe(probe(A, S, 1004, clock.now, 'syn', { sport: 40004 }));
  clock.now += 11_000;
  det.sweep();
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'trw');
  assert.equal(events[0]!.ports, 4);
});

test('TRW: stealth probes are immediate failures (4 FIN probes)', () => {
  const { det, events } = makeDetector();
  for (let p = 1; p <= 3; p++) det.onProbe(probe(A, S, p, T0 + p, 'fin'));
  assert.equal(events.length, 0);
  det.onProbe(probe(A, S, 4, T0 + 4, 'fin'));
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'trw');
  assert.equal(events[0]!.probe, 'fin');
  // Growing into a vertical scan renames the episode in its next update.
  for (let p = 5; p <= 20; p++) det.onProbe(probe(A, S, p, T0 + 10_000 + p, 'fin'));
  assert.equal(events.length, 1);
  det.onProbe(probe(A, S, 21, T0 + 61_000, 'fin'));
  assert.equal(events.at(-1)!.state, 'update');
  assert.equal(events.at(-1)!.kind, 'vertical');
});

test('a stealth probe that decides TRW and crosses a window threshold at once opens one episode', () => {
  const { det, events } = makeDetector({ scanPorts: 4 });
  for (let p = 1; p <= 4; p++) det.onProbe(probe(A, S, p, T0 + p, 'null'));
  assert.deepEqual(
    events.map((e) => e.state),
    ['open'],
  );
  det.closeAll();
  assert.equal(new Set(events.map((e) => e.id)).size, 1);
});

test('TRW: sessions that send data are successes and offset failures (a benign client)', () => {
  const { det, events, clock } = makeDetector();
  // Two successful exchanges, then four connections that never send data: the walk stays undecided.
  det.onProbe(probe(A, S, 80, T0, 'syn', { sport: 1 }));
  det.onProbe(probe(A, S, 443, T0 + 1, 'syn', { sport: 2 }));
  det.onSession(session(A, 1, 300, T0 + 500));
  det.onSession(session(A, 2, 300, T0 + 600));
  for (let p = 0; p < 4; p++) det.onProbe(probe(A, S, 8000 + p, T0 + 1000 + p, 'syn', { sport: 10 + p }));
  clock.now = T0 + 20_000;
  det.sweep();
  assert.equal(events.length, 0);
});

test('TRW: connect sessions without data are failures (nmap -sT without capture)', () => {
  const { det, events } = makeDetector({}, { countVia: 'listener' });
  for (let p = 1; p <= 4; p++) {
    det.onProbe(probe(A, S, p, T0 + p, 'connect', { sport: 40000 + p, via: 'listener', handshake: true }));
    det.onSession(session(A, 40000 + p, 0, T0 + p + 5));
  }
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'trw');
  assert.equal(events[0]!.handshake_completed, true);
});

test('scan events carry the tags and the most confident tool', () => {
  const { det, events } = makeDetector(
    {},
    {
      tagsFor: () => [
        { name: 'masscan', confidence: 0.99 },
        { name: 'os:embedded', confidence: 0.4 },
      ],
    },
  );
  for (let p = 1; p <= 15; p++) det.onProbe(probe(A, S, p, T0 + p));
  assert.equal(events[0]!.tool, 'masscan');
  assert.equal(events[0]!.tags!.length, 2);
});

test('large episodes are estimated within a few percent', () => {
  const { det, events } = makeDetector();
  for (let p = 1; p <= 20000; p++) det.onProbe(probe(A, S, p, T0 + p, 'syn', { sport: 50000 }));
  det.closeAll();
  const c = events.at(-1)!;
  assert.equal(c.state, 'closed');
  assert.equal(c.probes, 20000);
  assert.ok(Math.abs(c.ports - 20000) / 20000 < 0.05, `ports ${c.ports}`);
});

test('kernel-stack SYNs alone make a connect scan (handshakes reset before accept never reach the listener)', () => {
  const { det, events } = makeDetector();
  for (let port = 1; port <= 20; port++)
    det.onProbe(probe(A, S, port, T0 + port, 'syn', { sport: 40000 + port, options: [2, 4, 8, 1, 3] }));
  assert.ok(events.length > 0);
  assert.deepEqual([...new Set(events.map((e) => e.probe))], ['connect']);
  const raw = makeDetector();
  for (let port = 1; port <= 20; port++)
    raw.det.onProbe(probe(A, S, port, T0 + port, 'syn', { options: [2] }));
  assert.deepEqual(
    [...new Set(raw.events.map((e) => e.probe))],
    ['syn'],
    'nmap -sS template SYNs (MSS only) stay syn',
  );
});
