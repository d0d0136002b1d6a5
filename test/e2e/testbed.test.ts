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

test(
  'beds left by a killed test process are reaped, live ones are kept',
  { skip: !isRoot() && 'needs root' },
  async () => {
    const { execFileSync: run } = await import('node:child_process');
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const { reapStaleTestbeds } = await import('../helpers/testbed.js');
    const live = await createTestbed();
    const id =
      'f00d' +
      Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, '0');
    try {
      // A dead owner: a process that has already exited.
      const dead = run(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).trim();
      run('ip', ['netns', 'add', `tw${id}s`]);
      mkdirSync('/run/tidewatch-testbed', { recursive: true });
      writeFileSync(`/run/tidewatch-testbed/tw${id}`, `${dead} tw${id}s tw${id}c\n`);
      const reaped = reapStaleTestbeds();
      assert.ok(reaped.includes(`tw${id}s`), `reaped ${reaped.join(' ')}`);
      assert.doesNotMatch(namespaces(), new RegExp(`tw${id}s`));
      assert.match(namespaces(), new RegExp(live.sensorNs), 'the bed of a live process stays');
    } finally {
      await live.destroy();
      try {
        run('ip', ['netns', 'del', `tw${id}s`], { stdio: 'ignore' });
      } catch {
        /* reaped */
      }
    }
  },
);
