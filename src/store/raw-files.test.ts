import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { EventBus } from '../core/bus.js';
import { createLogger } from '../core/log.js';
import { sessionEvent } from '../core/session-event.js';
import { Stats } from '../core/stats.js';
import type { Config } from '../config/schema.js';
import { ENTRY_OVERHEAD_BYTES, rawFileName, safeAddress, startRawFiles } from './raw-files.js';

const SAFE = /^raw\/\d{8}\/(tcp|tls|udp)_[0-9a-f.-]+_\d{1,5}__[0-9a-f.-]+_\d{1,5}\.log$/;
const started = '2026-11-21T10:00:00.000Z';

test('TachyonNet names with the real destination; IPv6 colons replaced', () => {
  assert.equal(
    rawFileName({ proto: 'tcp', src: '198.18.0.2', sport: 40000, dst: '198.18.0.1', dport: 22, started }),
    'raw/20261121/tcp_198.18.0.2_40000__198.18.0.1_22.log',
  );
  assert.equal(
    rawFileName({ proto: 'udp', src: '2001:2::2', sport: 5, dst: 'FE80::1%eth0', dport: 53, started }),
    'raw/20261121/udp_2001-2--2_5__fe80--1_53.log',
  );
});

test('hostile addresses, ports and protocols never reach a path', () => {
  for (const bad of [
    '../../etc',
    '1.2.3.4/../x',
    '::1/..',
    '',
    'a'.repeat(100),
    '1.2.3.4\0',
    'fe80::1%../../x',
  ])
    assert.equal(
      rawFileName({ proto: 'tcp', src: bad, sport: 1, dst: '1.2.3.4', dport: 1, started }),
      bad === 'fe80::1%../../x' ? 'raw/20261121/tcp_fe80--1_1__1.2.3.4_1.log' : undefined,
    );
  assert.equal(
    rawFileName({ proto: '../x' as 'tcp', src: '1.1.1.1', sport: 1, dst: '1.1.1.1', dport: 1, started }),
    undefined,
  );
  assert.equal(
    rawFileName({ proto: 'tcp', src: '1.1.1.1', sport: 1.5, dst: '1.1.1.1', dport: 1, started }),
    undefined,
  );
  assert.equal(
    rawFileName({ proto: 'tcp', src: '1.1.1.1', sport: 1, dst: '1.1.1.1', dport: 70000, started }),
    undefined,
  );
});

test('property: any input gives a safe name or none', () => {
  const addr = fc.oneof(
    fc.string(),
    fc.ipV4(),
    fc.ipV6(),
    fc.constantFrom('::ffff:1.2.3.4', '::', 'fe80::1%lo'),
  );
  const port = fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.double());
  fc.assert(
    fc.property(
      fc.constantFrom('tcp', 'tls', 'udp', 'x/y'),
      addr,
      port,
      addr,
      port,
      (proto, src, sport, dst, dport) => {
        const n = rawFileName({ proto: proto as 'tcp', src, sport, dst, dport, started });
        if (n === undefined) return;
        assert.match(n, SAFE);
        assert.ok(!n.includes('..'));
        assert.ok(isIP(src.split('%')[0]!) > 0 && isIP(dst.split('%')[0]!) > 0);
      },
    ),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.string(), (s) => safeAddress(s) === undefined || /^[0-9a-f.-]+$/.test(safeAddress(s)!)),
  );
});

test('the write queue counts each entry with its overhead: a flood of 1-byte payloads is bounded too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-raw-'));
  try {
    const stats = new Stats();
    const bus = new EventBus();
    const ctx = { cfg: { dataDir: dir } as Config, bus, log: createLogger('fatal'), stats };
    const raw = await startRawFiles(ctx);
    const now = Date.now();
    const ev = sessionEvent('t', {
      ...{ proto: 'tcp', src: '198.18.0.2', sport: 40000, dst: '198.18.0.1', dport: 23 },
      ...{ started: now, ended: now, bytes: 1, truncated: false, close: 'fin' },
      payloads: [{ time: now, data: Buffer.from('x') }],
    });
    // Emitted in one synchronous burst: nothing drains in between, so the queue alone decides.
    const flood = 100_000;
    for (let i = 0; i < flood; i++) bus.emit(ev);
    const queued = flood - stats.get('raw_not_written_total');
    assert.ok(queued * (1 + ENTRY_OVERHEAD_BYTES) <= 16 * 1024 * 1024, `${queued} entries queued`);
    assert.ok(stats.get('raw_not_written_total') > 0);
    await raw.close();
    assert.equal(stats.get('raw_written_total'), queued);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
