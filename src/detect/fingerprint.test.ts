import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4ToUint } from '../core/addresses.js';
import type { ProbeEvent } from '../core/events.js';
import { CAPTURED, probeFromHex } from './fixtures/scanner-packets.js';
import { bestTool, fingerprintProbe, initialTtl, mergeTags } from './fingerprint.js';

const names = (p: ProbeEvent): string[] => fingerprintProbe(p).map((t) => t.name);
const all = (name: string): ProbeEvent[] => CAPTURED[name]!.map((h) => probeFromHex(h));

test('captured nmap packets carry the kind nmap meant', () => {
  const expected: Record<string, string> = {
    'nmap-sS': 'syn',
    'nmap-sT': 'syn',
    'nmap-sF': 'fin',
    'nmap-sN': 'null',
    'nmap-sX': 'xmas',
    'nmap-sA': 'ack',
    'nmap-sM': 'maimon',
    'nmap-sU': 'udp',
    masscan: 'syn',
    zmap: 'syn',
    hping3: 'syn',
  };
  for (const [name, kind] of Object.entries(expected))
    for (const p of all(name)) assert.equal(p.kind, kind, name);
});

test('masscan (captured, Debian 1.3.2): IP ID = dst ^ dport ^ seq, window 1024, TTL 255', () => {
  for (const p of all('masscan')) {
    const tags = fingerprintProbe(p);
    assert.equal(tags[0]!.name, 'masscan');
    assert.ok(tags[0]!.confidence >= 0.95);
    assert.ok(!names(p).includes('nmap'));
  }
  // Negative: the same packet with another IP ID is no masscan.
  const p = all('masscan')[0]!;
  assert.ok(!names({ ...p, ipId: (p.ipId! + 1) & 0xffff }).includes('masscan'));
});

test('ZMap (captured, Debian 2.1.1): IP ID 54321, window 65535, TTL 255', () => {
  for (const p of all('zmap')) {
    const tags = fingerprintProbe(p);
    assert.equal(tags[0]!.name, 'zmap');
    assert.equal(tags[0]!.confidence, 0.99);
  }
  // ZMap >= 2024 randomises the IP ID: the remaining template is a weaker hint.
  const p = { ...all('zmap')[0]!, ipId: 1234 };
  assert.deepEqual(fingerprintProbe(p), [{ name: 'zmap', confidence: 0.5 }]);
  // Negative: a Linux SYN with window 65535 is no ZMap.
  const linux = all('linux-connect')[0]!;
  assert.ok(!names({ ...linux, window: 65535 }).includes('zmap'));
});

test('nmap SYN scan (captured, 7.93): window 1024, MSS 1460 only, TTL <= 64', () => {
  for (const p of all('nmap-sS')) {
    assert.equal(bestTool(fingerprintProbe(p)), 'nmap');
    assert.ok(!names(p).includes('masscan'));
  }
  for (const name of ['nmap-sF', 'nmap-sN', 'nmap-sX', 'nmap-sA', 'nmap-sM'])
    for (const p of all(name)) assert.equal(bestTool(fingerprintProbe(p)), 'nmap', name);
  // Negatives: other options, TTL 128 or window 64240 are not nmap's SYN scan.
  const p = all('nmap-sS')[0]!;
  assert.ok(!names({ ...p, options: [2, 4, 8, 1, 3] }).includes('nmap'));
  assert.ok(!names({ ...p, ttl: 120 }).includes('nmap'));
  assert.ok(!names({ ...p, window: 64240 }).includes('nmap'));
});

test('nmap -sT and a Linux client are an OS family, not a scanner', () => {
  for (const name of ['nmap-sT', 'linux-connect'])
    for (const p of all(name)) {
      assert.equal(bestTool(fingerprintProbe(p)), undefined, name);
      assert.deepEqual(names(p), ['os:linux']);
    }
});

test('hping3 (captured): window 512, no options', () => {
  for (const p of all('hping3')) assert.equal(bestTool(fingerprintProbe(p)), 'hping3');
});

test('UDP probes have no fingerprint', () => {
  for (const p of [...all('nmap-sU'), ...all('hping3-udp')]) assert.deepEqual(fingerprintProbe(p), []);
});

const syn = (over: Partial<ProbeEvent>): ProbeEvent => ({
  type: 'probe',
  time: 0,
  via: 'capture',
  proto: 'tcp',
  kind: 'syn',
  src: '203.0.113.9',
  dst: '198.18.0.1',
  sport: 1234,
  dport: 23,
  ttl: 52,
  ipId: 4321,
  window: 5840,
  seq: 1,
  options: [],
  ...over,
});

test('Mirai: seq == destination IPv4', () => {
  const dst = ipv4ToUint('198.18.0.1');
  assert.equal(dst, 0xc6120001);
  const tags = fingerprintProbe(syn({ seq: dst }));
  assert.equal(tags[0]!.name, 'mirai');
  assert.equal(tags[0]!.confidence, 0.99);
  assert.equal(fingerprintProbe(syn({ seq: dst, dport: 8080 }))[0]!.confidence, 0.95);
  assert.ok(!names(syn({ seq: dst + 1 })).includes('mirai'));
  assert.ok(!names(syn({ dst: '2001:2::1', seq: dst })).includes('mirai'));
});

test('unicornscan: TTL 255, window 4128, MSS only (default fingerprint)', () => {
  const tags = fingerprintProbe(syn({ ttl: 250, window: 4128, options: [2], mss: 1460 }));
  assert.equal(bestTool(tags), 'unicornscan');
  assert.ok(!names(syn({ ttl: 60, window: 4128, options: [2], mss: 1460 })).includes('unicornscan'));
});

test('OS families the way p0f does', () => {
  assert.deepEqual(names(syn({ ttl: 117, window: 64240, options: [2, 1, 3, 1, 1, 4] })), ['os:windows']);
  assert.deepEqual(names(syn({ ttl: 54, window: 65535, options: [2, 1, 3, 1, 1, 8, 4, 0, 0] })), ['os:bsd']);
  assert.deepEqual(names(syn({ ttl: 50, window: 29200, options: [2, 4, 8, 1, 3] })), ['os:linux']);
  assert.deepEqual(names(syn({ ttl: 60, window: 5840, options: [2], mss: 1400 })), ['os:embedded']);
  assert.deepEqual(names(syn({ ttl: 100, window: 65535, options: [] })), []);
});

test('helpers: initial TTL, tag merging', () => {
  assert.deepEqual([1, 32, 33, 64, 65, 128, 129, 255].map(initialTtl), [32, 32, 64, 64, 128, 128, 255, 255]);
  const merged = mergeTags(
    [{ name: 'nmap', confidence: 0.5 }],
    [
      { name: 'nmap', confidence: 0.9 },
      { name: 'os:linux', confidence: 0.8 },
    ],
  );
  assert.deepEqual(merged, [
    { name: 'nmap', confidence: 0.9 },
    { name: 'os:linux', confidence: 0.8 },
  ]);
});
