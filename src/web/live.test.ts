import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionEvent } from '../core/events.js';
import { LIVE_LIMITS, liveMessage, preview } from './live.js';

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

test('a live session carries what responders and intel recorded, bounded; a campaign event passes whole', () => {
  const long = '<script>"x"</script>'.repeat(50);
  const m = liveMessage({
    ...ev([Buffer.from('root')]),
    persona: 'telnet',
    app: 'telnet',
    credentials: [{ username: 'root', password: long, auth_data: 'ff' }],
    commands: Array.from({ length: 20 }, (_, i) => `cmd${i}`),
    tags: [{ name: 'mirai', confidence: 1 }],
    cves: ['CVE-2016-10401'],
    iocs: { urls: ['http://198.18.0.9/x'], hosts: ['198.18.0.9'] },
    signature: { template: 'telnet:root', sha256: 'ab' },
  })!;
  assert.equal(m.persona, 'telnet');
  assert.deepEqual(m.tags, ['mirai']);
  assert.equal(m.signature, 'telnet:root');
  const creds = m.credentials as { username: string; password: string }[];
  assert.equal(creds[0]!.password, long.slice(0, LIVE_LIMITS.maxText));
  assert.ok(!('auth_data' in creds[0]!));
  assert.deepEqual(
    m.commands,
    Array.from({ length: LIVE_LIMITS.maxListItems }, (_, i) => `cmd${i}`),
  );
  assert.deepEqual(m.iocs, { urls: ['http://198.18.0.9/x'], hosts: ['198.18.0.9'] });
  const plain = JSON.parse(JSON.stringify(liveMessage(ev([Buffer.from('x')])))) as Record<string, unknown>;
  assert.ok(!('persona' in plain) && !('credentials' in plain), 'absent fields stay absent');

  const campaign = {
    type: 'campaign',
    ts: '2026-01-01T00:00:00.000Z',
    sensor: 's',
    kind: 'new',
    signature: 'GET /x',
    app: 'http',
    example: 'GET /x?<b>',
    tags: [],
    cves: [],
    sources: 5,
    interval_s: 60,
    baseline: { mean: 0, sd: 0 },
    first_seen: '2026-01-01T00:00:00.000Z',
    ports: [80],
    series: [5],
  } as const;
  const { sensor: _s, ...rest } = campaign;
  assert.deepEqual(liveMessage({ ...campaign, tags: [], cves: [], ports: [80], series: [5] }), {
    ...rest,
    tags: [],
    cves: [],
    ports: [80],
    series: [5],
  });
});
