// --block on against real scanners: the scanner lands in tidewatch's nftables set, its later packets are
// dropped (a connection to a listener port times out) until the element expires, and nothing of tidewatch
// stays in nftables after exit, also after a crash.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startSensor, tempDir } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import { blockEvent, openScan, ruleset, sensorArgs, tryConnect } from './scanners-lib.js';

const skip = !isRoot() && 'needs root';
let bed: Testbed;
before(async () => {
  if (!skip) bed = await createTestbed();
});
after(async () => bed?.destroy());

const BLOCK = ['--block', 'on', '--block-for', '3s'];
const nmap = (flags: string[], target: string) =>
  bed.exec(bed.scannerNs, 'nmap', [
    '-n',
    '-Pn',
    ...flags,
    '-p',
    '1-100',
    '--max-retries',
    '0',
    '--host-timeout',
    '15s',
    target,
  ]);

test('a scanner that completed a handshake is blocked until the element expires', { skip }, async () => {
  const s = await startSensor(bed, sensorArgs(bed, BLOCK));
  try {
    assert.match(await ruleset(bed), /table inet tidewatch_block/);
    assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok, 'reachable before the scan');
    await nmap(['-sS'], bed.sensorIp);
    const scan = await openScan(s, bed.scannerIp);
    assert.equal(scan.handshake_completed, true);
    assert.equal(scan.action, 'blocked');
    const added = await blockEvent(s, bed.scannerIp, 'added');
    assert.ok(Date.parse(added.until!) > Date.now());
    assert.match(
      await ruleset(bed),
      new RegExp(`elements = \\{ ${bed.scannerIp.replace(/\./g, '\\.')} timeout 3s`),
    );
    const blocked = await tryConnect(bed, bed.sensorIp, 80, 1);
    assert.equal(blocked.ok, false, 'dropped while blocked');
    assert.ok(blocked.ms >= 900, `timed out (${blocked.ms} ms), not refused`);
    await blockEvent(s, bed.scannerIp, 'expired', 8000);
    assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok, 'reachable again after expiry');
  } finally {
    assert.equal(await s.stop(), 0);
  }
  assert.doesNotMatch(await ruleset(bed), /tidewatch/);
});

test('a SYN-only scanner held back is blocked once it completes a handshake', { skip }, async () => {
  const s = await startSensor(bed, sensorArgs(bed, BLOCK));
  try {
    await nmap(['-sS'], bed.sensorIp);
    const scan = await openScan(s, bed.scannerIp);
    assert.equal(scan.handshake_completed, false);
    assert.equal(scan.action, 'logged');
    await blockEvent(s, bed.scannerIp, 'refused');
    // Now the same source proves it is not spoofed: a real connection to a listener port.
    assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok);
    await blockEvent(s, bed.scannerIp, 'added');
    assert.equal((await tryConnect(bed, bed.sensorIp, 443, 1)).ok, false);
  } finally {
    await s.stop();
  }
  assert.doesNotMatch(await ruleset(bed), /tidewatch/);
});

test(
  'an IPv6 scanner lands in the IPv6 set (--block-spoofable blocks SYN-only sources)',
  { skip },
  async () => {
    const s = await startSensor(bed, sensorArgs(bed, [...BLOCK, '--block-spoofable']));
    try {
      await nmap(['-6', '-sS'], bed.sensorIp6);
      const scan = await openScan(s, bed.scannerIp6);
      assert.equal(scan.handshake_completed, false);
      assert.equal(scan.action, 'blocked');
      await blockEvent(s, bed.scannerIp6, 'added');
      assert.match(await ruleset(bed), /elements = \{ 2001:2::2 timeout 3s/);
      assert.equal((await tryConnect(bed, bed.sensorIp6, 80, 1)).ok, false);
      assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok, 'its IPv4 address is not blocked');
    } finally {
      await s.stop();
    }
    assert.doesNotMatch(await ruleset(bed), /tidewatch/);
  },
);

test(
  'a crashed sensor leaves its table; the next start replaces it and exit removes it',
  { skip },
  async () => {
    const first = await startSensor(
      bed,
      sensorArgs(bed, [...BLOCK, '--block-spoofable', '--block-for', '1h']),
    );
    await nmap(['-sS'], bed.sensorIp);
    await blockEvent(first, bed.scannerIp, 'added');
    await first.stop('SIGKILL');
    const left = await ruleset(bed);
    assert.match(left, /table inet tidewatch_block/, 'SIGKILL leaves the table');
    assert.match(left, /198\.18\.0\.2 timeout 1h/);
    const second = await startSensor(bed, sensorArgs(bed, BLOCK));
    try {
      const now = await ruleset(bed);
      assert.equal(now.match(/table inet tidewatch_block/g)?.length, 1);
      assert.doesNotMatch(now, /198\.18\.0\.2/, 'old elements gone');
      assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok);
    } finally {
      assert.equal(await second.stop(), 0);
    }
    assert.doesNotMatch(await ruleset(bed), /tidewatch/);
  },
);

test('without nft, --block on stops at start with TW_ERR_FIREWALL naming the fix', { skip }, async () => {
  // A PATH that has ip (to enter the namespace) but no nft.
  const bin = join(tempDir('tw-nonft-'), 'bin');
  mkdirSync(bin);
  symlinkSync(execFileSync('which', ['ip'], { encoding: 'utf8' }).trim(), join(bin, 'ip'));
  await assert.rejects(
    startSensor(bed, sensorArgs(bed, ['--block', 'on']), { env: { PATH: bin } }),
    /nft not found: install nftables .* or use --block off/,
  );
  assert.doesNotMatch(await ruleset(bed), /tidewatch/);
});

test(
  'blocking beside tproxy mode: both tables live together, both are gone after exit',
  { skip },
  async () => {
    const s = await startSensor(bed, sensorArgs(bed, [...BLOCK, '--block-spoofable', '--listen', 'tproxy']));
    try {
      await nmap(['-sS'], bed.sensorIp);
      await blockEvent(s, bed.scannerIp, 'added');
      const tables = await ruleset(bed);
      assert.match(tables, /table inet tidewatch_block/);
      assert.match(tables, /table inet tidewatch_tproxy/);
      // Dropped before TPROXY sees it: any port times out, not just the listener's.
      assert.equal((await tryConnect(bed, bed.sensorIp, 4444, 1)).ok, false);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    assert.doesNotMatch(await ruleset(bed), /tidewatch/);
  },
);
