import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iso, sessionEvent } from './session-event.js';

test('a session event from a record: RFC 3339 times, payload entries in order, base64 data', () => {
  const t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const ev = sessionEvent('s1', {
    proto: 'tcp',
    src: '198.18.0.2',
    sport: 40000,
    dst: '198.18.0.1',
    dport: 23,
    started: t,
    ended: t + 1500,
    bytes: 9,
    truncated: true,
    close: 'cap',
    payloads: [
      { time: t + 10, data: Buffer.from('root\r\n') },
      { time: t + 20, data: Buffer.from([0, 0xff, 0x80]) },
    ],
  });
  assert.deepEqual(ev, {
    type: 'session',
    ts: '2026-01-02T03:04:07.178Z',
    sensor: 's1',
    proto: 'tcp',
    src: '198.18.0.2',
    sport: 40000,
    dst: '198.18.0.1',
    dport: 23,
    started: '2026-01-02T03:04:05.678Z',
    ended: '2026-01-02T03:04:07.178Z',
    bytes: 9,
    truncated: true,
    close: 'cap',
    payloads: [
      { index: 0, timestamp: '2026-01-02T03:04:05.688Z', data: 'cm9vdA0K' },
      { index: 1, timestamp: '2026-01-02T03:04:05.698Z', data: 'AP+A' },
    ],
  });
  // tcppc-go's field order: the JSON-lines sessions are read by its tools.
  assert.deepEqual(Object.keys(ev).slice(0, 9), [
    'type',
    'ts',
    'sensor',
    'proto',
    'src',
    'sport',
    'dst',
    'dport',
    'started',
  ]);
  const empty = sessionEvent('s1', { ...ev, started: t, ended: t, payloads: [] });
  assert.deepEqual(empty.payloads, []);
  assert.equal(empty.ts, empty.started);
});

test('iso reuses the last string and matches Date for any ms', () => {
  for (const ms of [0, 1, 999, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2038, 0, 19, 3, 14, 8)]) {
    assert.equal(iso(ms), new Date(ms).toISOString());
    assert.equal(iso(ms), iso(ms));
  }
});
