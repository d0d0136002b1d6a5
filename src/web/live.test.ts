import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionEvent } from '../core/events.js';
import { liveMessage, preview } from './live.js';

const ev = (bytes: Buffer[]): SessionEvent => ({
  type: 'session',
  ts: '2026-01-01T00:00:00.000Z',
  sensor: 's',
  proto: 'tls',
  src: '198.18.0.2',
  sport: 1,
  dst: '198.18.0.1',
  dport: 443,
  started: '2026-01-01T00:00:00.000Z',
  ended: '2026-01-01T00:00:00.000Z',
  bytes: 9,
  truncated: false,
  close: 'fin',
  payloads: bytes.map((b, index) => ({ index, timestamp: '', data: b.toString('base64') })),
  tls: { version: 'TLSv1.3', sni: '<b>x</b>', ja3: '', ja4: '' },
});

test('preview: printable ASCII across reads, others as dots, capped', () => {
  assert.equal(preview(ev([Buffer.from('AB\r\n'), Buffer.from([0, 0x7f, 0x43])])), 'AB....C');
  assert.equal(preview(ev([Buffer.alloc(500, 0x41)]), 64).length, 64);
});

test('a live session message is small: no payload, no sensor; strings left as they came (the page escapes)', () => {
  const m = liveMessage(ev([Buffer.from('hello')]))!;
  assert.equal(m.preview, 'hello');
  assert.equal(m.sni, '<b>x</b>');
  assert.ok(!('payloads' in m) && !('sensor' in m));
  const wire = `data: ${JSON.stringify(m)}\n\n`;
  assert.equal(wire.split('\n').length, 3, 'one data line per message');
});
