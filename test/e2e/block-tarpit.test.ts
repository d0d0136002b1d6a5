// --tarpit: a listener session that ends by timeout is held open and fed a byte per --tarpit-interval
// (like endlessh) instead of being closed; beyond --tarpit-max sessions are closed as usual.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import { sensorArgs, sleep } from './scanners-lib.js';

const skip = !isRoot() && 'needs root';
let bed: Testbed;
before(async () => {
  if (!skip) bed = await createTestbed();
});
after(async () => bed?.destroy());

test('silent clients are tarpitted: a byte per interval, bounded by --tarpit-max', { skip }, async () => {
  const s = await startSensor(
    bed,
    // Responders off: ports 22 and 23 would otherwise speak first (SSH and Telnet banners).
    sensorArgs(bed, [
      '--respond',
      'off',
      '--tarpit',
      '--tarpit-max',
      '1',
      '--tarpit-interval',
      '300ms',
      '--idle-timeout',
      '500ms',
    ]),
  );
  try {
    // nc prints what it receives; it is killed after 4 s whatever happens (-w would end it on idle).
    const held = bed.exec(bed.scannerNs, 'timeout', ['4', 'nc', bed.sensorIp, '22'], { timeoutMs: 10_000 });
    await sleep(200);
    const t0 = Date.now();
    const second = await bed.exec(bed.scannerNs, 'timeout', ['4', 'nc', bed.sensorIp, '23'], {
      timeoutMs: 10_000,
    });
    const secondMs = Date.now() - t0;
    const first = await held;
    assert.equal(first.code, 124, 'the first client was held until timeout killed it');
    // 0.5 s idle, then about one byte per 300 ms for ~3.3 s.
    assert.ok(first.stdout.length >= 5 && first.stdout.length <= 16, `fed ${first.stdout.length} bytes`);
    assert.match(first.stdout, /^[a-zA-Z0-9 \n]+$/);
    assert.ok(
      second.code !== 124 && secondMs < 3500,
      `the second was closed (tarpit full): ${second.code} ${secondMs}ms`,
    );
  } finally {
    await s.stop();
  }
});
