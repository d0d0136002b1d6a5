import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import type { ScanEvent, SpikeEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { startEventsSink } from '../store/events-sink.js';
import { CAPTURED, probeFromHex } from './fixtures/scanner-packets.js';
import { startDetectors, startTagger } from './index.js';
import { testConfig } from './test-helpers.js';

test('wired as in sensor.ts: tagger, sink, detectors with a block policy; events land in events/<day>.jsonl', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-detect-'));
  const ctx: SensorContext = {
    cfg: testConfig({ capture: 'lo', dataDir }),
    bus: new EventBus(),
    log: createLogger('silent'),
    stats: new Stats(),
  };
  const tagger = await startTagger(ctx);
  const sink = await startEventsSink(ctx);
  // The block policy judges each scan event before it is emitted and sets its action.
  const judge = (ev: ScanEvent): void => {
    if (ev.state === 'open') ev.action = 'dry-run';
  };
  const det = await startDetectors(ctx, { sweepMs: 50, judge, tagsFor: tagger.tagsFor });
  const seen: ScanEvent[] = [];
  ctx.bus.on('scan', (ev) => seen.push(ev));

  // masscan's real SYN template, sent to 20 ports.
  const base = probeFromHex(CAPTURED['masscan']![0]!, Date.now());
  for (let port = 1; port <= 20; port++) {
    // masscan derives the IP ID from dst ^ dport ^ seq: keep the formula true for each port.
    const seq = (base.seq! ^ port) >>> 0;
    ctx.bus.emit({ ...base, dport: port, seq, ipId: (0xc6120001 ^ port ^ seq) & 0xffff, time: Date.now() });
  }
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.tool, 'masscan');
  assert.equal(seen[0]!.probe, 'syn');
  assert.equal(seen[0]!.probes, 15);
  assert.equal(seen[0]!.src, '198.18.0.50');
  assert.equal(seen[0]!.handshake_completed, false);
  // Listener probes are not counted twice when capture is on: a handshake is evidence, reported at once.
  ctx.bus.emit({ ...base, via: 'listener', kind: 'connect', dport: 99, time: Date.now() });
  assert.equal(seen.length, 2);
  assert.equal(seen[1]!.state, 'update');
  assert.equal(seen[1]!.handshake_completed, true);
  assert.equal(seen[1]!.probes, 20);

  const spike: SpikeEvent = {
    ts: new Date().toISOString(),
    sensor: 'test',
    type: 'spike',
    proto: 'tcp',
    dport: 23,
    interval_s: 3600,
    count: 50,
    baseline: { mean: 1, sd: 1, method: 'ewma' },
    score: 49,
  };
  ctx.bus.emit(spike);
  ctx.bus.emit({
    ts: new Date().toISOString(),
    sensor: 'test',
    type: 'block',
    action: 'dry-run',
    src: '198.18.0.50',
    reason: 'scan',
  });

  await det.close(); // closes the open episode
  await sink.close();
  await tagger.close();
  const files = readdirSync(join(dataDir, 'events'));
  assert.deepEqual(files, [`${new Date().toISOString().slice(0, 10)}.jsonl`]);
  const lines = readFileSync(join(dataDir, 'events', files[0]!), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ScanEvent | SpikeEvent);
  assert.deepEqual(
    lines.map((l) => (l.type === 'scan' ? l.state : l.type)),
    ['open', 'update', 'spike', 'block', 'closed'],
  );
  const open = lines[0] as ScanEvent;
  assert.equal(open.action, 'dry-run');
  assert.equal(open.tool, 'masscan');
  assert.deepEqual(open.probe_types, { syn: 15 });
  const closed = lines[4] as ScanEvent;
  assert.equal(closed.id, open.id);
  assert.equal(closed.probes, 20);
  assert.equal(closed.ports, 20);
});

test('startDetectors raises a spike when a quiet port jumps (injected clock)', async () => {
  const ctx: SensorContext = {
    cfg: testConfig({ capture: 'lo', spikeInterval: 60_000 }),
    bus: new EventBus(),
    log: createLogger('silent'),
    stats: new Stats(),
  };
  const T = Date.UTC(2026, 0, 1);
  let now = T;
  const spikes: SpikeEvent[] = [];
  ctx.bus.on('spike', (ev) => spikes.push(ev));
  const det = await startDetectors(ctx, { now: () => now, sweepMs: 5 });
  const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
  // Five quiet minutes (one source a minute on port 2323), then 40 sources in one minute.
  for (let m = 0; m < 5; m++) {
    const p = probeFromHex(CAPTURED['nmap-sS']![0]!, T + m * 60_000 + 1);
    ctx.bus.emit({ ...p, src: `192.0.2.${m}`, dport: 2323 });
    now = T + (m + 1) * 60_000;
    await tick();
  }
  assert.equal(spikes.length, 0);
  for (let i = 0; i < 40; i++) {
    const p = probeFromHex(CAPTURED['masscan']![0]!, T + 5 * 60_000 + i);
    ctx.bus.emit({ ...p, src: `203.0.113.${i}`, dport: 2323 });
  }
  now = T + 6 * 60_000;
  await tick();
  await det.close();
  assert.equal(spikes.length, 1);
  assert.equal(spikes[0]!.dport, 2323);
  assert.equal(spikes[0]!.count, 40);
  assert.equal(spikes[0]!.interval_s, 60);
  assert.equal(spikes[0]!.ts, new Date(T + 6 * 60_000).toISOString());
});
