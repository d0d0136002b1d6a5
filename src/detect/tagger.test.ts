import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import type { SessionEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { CAPTURED, probeFromHex } from './fixtures/scanner-packets.js';
import { startTagger } from './index.js';
import { bestTool, fingerprintProbe } from './fingerprint.js';
import { FingerprintMemory } from './tagger.js';
import { session, testConfig } from './test-helpers.js';

test('sessions are tagged with their SYN fingerprint before the sinks see them', async () => {
  const ctx: SensorContext = {
    cfg: testConfig({ capture: 'lo' }),
    bus: new EventBus(),
    log: createLogger('silent'),
    stats: new Stats(),
  };
  const tagger = await startTagger(ctx);
  const written: SessionEvent[] = [];
  ctx.bus.on('session', (ev) => written.push(structuredClone(ev))); // a sink, subscribed after the tagger
  const syn = probeFromHex(CAPTURED['masscan']![0]!, Date.now());
  ctx.bus.emit(syn);
  ctx.bus.emit(session(syn.src, syn.sport, 10, Date.now()));
  ctx.bus.emit(session('192.0.2.1', 1, 10, Date.now())); // an untagged source stays untagged
  assert.equal(written[0]!.tags?.[0]?.name, 'masscan');
  assert.equal(written[1]!.tags, undefined);
  await tagger.close();
  ctx.bus.emit(session(syn.src, syn.sport, 10, Date.now()));
  assert.equal(written[2]!.tags, undefined, 'no tagging after close');
});

test('per-flow tags win over per-source tags; memory is bounded', () => {
  const m = new FingerprintMemory(new Stats(), 3, 2);
  const nmap = probeFromHex(CAPTURED['nmap-sS']![0]!);
  const linux = { ...probeFromHex(CAPTURED['linux-connect']![0]!), src: nmap.src };
  m.observe(nmap);
  m.observe(linux);
  assert.equal(m.forSession(nmap.src, linux.sport)![0]!.name, 'os:linux');
  assert.equal(m.forSession(nmap.src, nmap.sport)![0]!.name, 'nmap');
  assert.deepEqual(
    m.forSource(nmap.src)!.map((t) => t.name),
    ['nmap', 'os:linux'],
  );
  for (let i = 0; i < 10; i++) m.observe({ ...nmap, src: `10.0.0.${i}` });
  assert.equal(m.sources, 3);
});

test('the tool is the one most packets say: a chance match among nmap packets does not rename it', () => {
  const m = new FingerprintMemory();
  const nmap = probeFromHex(CAPTURED['nmap-sS']![0]!);
  for (let i = 0; i < 20; i++) m.observe({ ...nmap, dport: 100 + i });
  // One nmap SYN whose random IP ID happens to equal dst ^ dport ^ seq (as in a real run).
  const dport = 7;
  const chance = { ...nmap, dport, ipId: (0xc6120001 ^ dport ^ nmap.seq!) & 0xffff };
  assert.equal(fingerprintProbe(chance).find((t) => t.name === 'masscan')?.confidence, 0.55);
  m.observe(chance);
  assert.equal(bestTool(m.forSource(nmap.src)), 'nmap');
  // A source that really is masscan stays masscan after one odd packet.
  const ms = probeFromHex(CAPTURED['masscan']![0]!);
  for (let i = 0; i < 5; i++) m.observe(ms);
  m.observe({ ...nmap, src: ms.src });
  assert.equal(bestTool(m.forSource(ms.src)), 'masscan');
  // Evidence can overturn a first impression.
  const flip = { ...nmap, src: '192.0.2.77' };
  m.observe({ ...ms, src: flip.src });
  for (let i = 0; i < 3; i++) m.observe(flip);
  assert.equal(bestTool(m.forSource(flip.src)), 'nmap');
});
