import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { createTestbed, isRoot } from '../helpers/testbed.js';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

test(
  'test bed joins two namespaces over IPv4 and IPv6 and removes them',
  { skip: !isRoot() && 'needs root' },
  async () => {
    const bed = await createTestbed();
    try {
      assert.match(namespaces(), new RegExp(bed.sensorNs));
      const v4 = await bed.exec(bed.scannerNs, 'ping', ['-c', '1', '-W', '2', bed.sensorIp]);
      assert.equal(v4.code, 0, v4.stderr);
      const v6 = await bed.exec(bed.scannerNs, 'ping', ['-6', '-c', '1', '-W', '2', bed.sensorIp6]);
      assert.equal(v6.code, 0, v6.stderr);
      const sleeper = bed.spawn(bed.sensorNs, 'sleep', ['60']);
      await new Promise((r) => setTimeout(r, 100));
      await bed.destroy();
      assert.ok(sleeper.exitCode !== null || sleeper.signalCode !== null, 'spawned process killed');
    } finally {
      await bed.destroy();
    }
    assert.doesNotMatch(namespaces(), new RegExp(bed.sensorNs));
    assert.doesNotMatch(namespaces(), new RegExp(bed.scannerNs));
  },
);
