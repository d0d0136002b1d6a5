// Which lock file names a live owner: only a running tidewatch other than this process, never a reused pid.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { liveOwner } from './restart.js';

test('a lock names a live owner only for a running tidewatch other than this process', async () => {
  assert.equal(liveOwner('not a pid'), undefined);
  assert.equal(liveOwner(''), undefined);
  assert.equal(liveOwner(`${process.pid}\n`), undefined, 'this process is no other owner');
  assert.equal(liveOwner('4194304999\n'), undefined, 'no such process');
  // A live process that is not tidewatch (a pid reused after a reboot).
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  // A live tidewatch: its command line names the CLI.
  const sensor = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'dist/src/cli/main.js'], {
    stdio: 'ignore',
  });
  try {
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(liveOwner(`${sleeper.pid}\n`), undefined);
    assert.equal(liveOwner(`${sensor.pid}\n`), sensor.pid);
  } finally {
    sleeper.kill('SIGKILL');
    sensor.kill('SIGKILL');
  }
});
