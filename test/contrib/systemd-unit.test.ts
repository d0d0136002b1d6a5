// contrib/tidewatch.service: systemd itself checks it (systemd-analyze verify), and its capabilities are
// exactly the three the sensor needs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../helpers/sensor.js';

const UNIT = join(REPO, 'contrib/tidewatch.service');

function verify(text: string): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tw-unit-'));
  try {
    const path = join(dir, 'tidewatch.service');
    writeFileSync(path, text);
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('systemd-analyze verify accepts contrib/tidewatch.service, and rejects a broken copy', () => {
  const text = readFileSync(UNIT, 'utf8');
  assert.deepEqual(verify(text), { status: 0, stderr: '' });
  // The check can fail: a misspelt directive is reported.
  const bad = verify(text.replace('ProtectKernelLogs=yes', 'ProtectKernelLog=yes'));
  assert.match(bad.stderr, /Unknown key '?ProtectKernelLog/);
});

test('the unit runs as its own user with only CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE', () => {
  const text = readFileSync(UNIT, 'utf8');
  const caps = 'CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE';
  assert.match(text, /^DynamicUser=yes$/m);
  assert.match(text, new RegExp(`^AmbientCapabilities=${caps}$`, 'm'));
  assert.match(text, new RegExp(`^CapabilityBoundingSet=${caps}$`, 'm'));
  assert.match(text, /^SystemCallFilter=@system-service$/m);
  // The offline security score stays in the "OK" band or better (docs/privileges.md gives it).
  const dir = mkdtempSync(join(tmpdir(), 'tw-unit-'));
  try {
    copyFileSync(UNIT, join(dir, 'tidewatch.service'));
    const out = execFileSync(
      'systemd-analyze',
      ['security', '--offline=yes', join(dir, 'tidewatch.service')],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const score = Number(/Overall exposure level for tidewatch\.service: ([\d.]+)/.exec(out)?.[1]);
    assert.ok(score <= 3, `exposure ${score}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
