// Every one of the 256 flag bytes against a reference written from nmap's scan-type table by flag names,
// plus the cases that once went wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProbeKind } from './events.js';
import { isConnectionAttempt, scanTypeFromFlags, STEALTH_KINDS, tcpProbeKind } from './tcp-flags.js';

const NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
const names = (f: number): Set<string> => new Set(NAMES.filter((_, i) => f & (1 << i)));

/** nmap(1) "port scanning techniques", by the names of the classic flags set (ECE and CWR ignored). */
function reference(f: number): ProbeKind | undefined {
  const s = names(f);
  s.delete('ECE');
  s.delete('CWR');
  const only = (...want: string[]): boolean => s.size === want.length && want.every((w) => s.has(w));
  if (s.has('SYN')) return s.has('ACK') ? undefined : 'syn';
  if (s.has('RST')) return undefined;
  if (only()) return 'null';
  if (only('FIN')) return 'fin';
  if (only('FIN', 'PSH', 'URG')) return 'xmas';
  if (only('FIN', 'ACK')) return 'maimon';
  if (only('ACK')) return 'ack';
  return s.has('ACK') ? undefined : 'other';
}

test('scan types of all 256 flag bytes', () => {
  for (let f = 0; f < 256; f++) {
    assert.equal(scanTypeFromFlags(f), reference(f), `flags 0x${f.toString(16)}`);
    assert.equal(isConnectionAttempt(f), names(f).has('SYN') && !names(f).has('ACK'), `0x${f.toString(16)}`);
  }
  assert.equal(scanTypeFromFlags(0x02), 'syn');
  assert.equal(scanTypeFromFlags(0xc2), 'syn'); // ECN SYN
  assert.equal(scanTypeFromFlags(0x12), undefined); // SYN+ACK
  assert.equal(scanTypeFromFlags(0x00), 'null');
  assert.equal(scanTypeFromFlags(0x01), 'fin');
  assert.equal(scanTypeFromFlags(0x29), 'xmas');
  assert.equal(scanTypeFromFlags(0x11), 'maimon');
  assert.equal(scanTypeFromFlags(0x10), 'ack');
  assert.equal(scanTypeFromFlags(0x04), undefined); // RST
  assert.equal(scanTypeFromFlags(0x18), undefined); // PSH+ACK: data of a conversation
  assert.equal(scanTypeFromFlags(0x08), 'other');
});

test("capture's probes: the scan type without ACK-only and other; ECE/CWR never change the kind", () => {
  for (let f = 0; f < 256; f++) {
    const t = reference(f);
    const want = t === undefined || t === 'ack' || t === 'other' ? null : t;
    assert.equal(tcpProbeKind(f), want, `flags 0x${f.toString(16)}`);
    if (want) assert.ok(want === 'syn' || STEALTH_KINDS.has(want));
  }
  const cases: [number, string | null][] = [
    [0x02, 'syn'],
    [0xc2, 'syn'],
    [0x42, 'syn'],
    [0x03, 'syn'],
    [0x12, null],
    [0x10, null],
    [0x00, 'null'],
    [0xc0, 'null'],
    [0x29, 'xmas'],
    [0x01, 'fin'],
    [0x11, 'maimon'],
    [0x04, null],
    [0x14, null],
    [0x18, null],
  ];
  for (const [f, k] of cases) assert.equal(tcpProbeKind(f), k, `flags 0x${f.toString(16)}`);
  assert.ok(!STEALTH_KINDS.has('syn') && !STEALTH_KINDS.has('connect') && !STEALTH_KINDS.has('udp'));
});
