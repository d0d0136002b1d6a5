// What --block must never do: block an --allow'ed address, a SYN-only (spoofable) source by default, or the
// peer of an established connection to a real local service (SSH); and --block dry-run touches no firewall.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import { blockEvent, blocks, openScan, ruleset, sensorArgs, sleep, tryConnect } from './scanners-lib.js';

const skip = !isRoot() && 'needs root';
let bed: Testbed;
before(async () => {
  if (!skip) bed = await createTestbed();
});
after(async () => bed?.destroy());

const synScan = () =>
  bed.exec(bed.scannerNs, 'nmap', ['-n', '-Pn', '-sS', '-p', '1-100', '--max-retries', '0', bed.sensorIp]);

test('an --allow-ed scanner is never blocked', { skip }, async () => {
  const s = await startSensor(
    bed,
    sensorArgs(bed, ['--block', 'on', '--block-spoofable', '--allow', '198.18.0.0/30,2001:db8::/32']),
  );
  try {
    await synScan();
    const scan = await openScan(s, bed.scannerIp);
    assert.equal(scan.action, 'logged');
    const refused = await blockEvent(s, bed.scannerIp, 'refused');
    assert.match(refused.reason, /--allow/);
    assert.doesNotMatch(await ruleset(bed), /198\.18\.0\.2/);
    assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok);
  } finally {
    await s.stop();
  }
});

test('a SYN-only scanner is not blocked by default (possibly spoofed)', { skip }, async () => {
  const s = await startSensor(bed, sensorArgs(bed, ['--block', 'on']));
  try {
    await synScan();
    const scan = await openScan(s, bed.scannerIp);
    assert.equal(scan.handshake_completed, false);
    assert.equal(scan.action, 'logged');
    assert.match((await blockEvent(s, bed.scannerIp, 'refused')).reason, /spoof/);
    assert.doesNotMatch(await ruleset(bed), /198\.18\.0\.2/);
  } finally {
    await s.stop();
  }
});

test(
  'the peer of an established SSH-like session to a foreign service is never blocked',
  { skip },
  async () => {
    // A service tidewatch does not own, and a client that keeps a connection to it open.
    const server = bed.spawn(bed.sensorNs, 'nc', ['-lk', '-s', bed.sensorIp, '-p', '2222']);
    await sleep(300);
    const client = bed.spawn(bed.scannerNs, 'nc', [bed.sensorIp, '2222']);
    const s = await startSensor(bed, sensorArgs(bed, ['--block', 'on', '--block-spoofable']));
    try {
      await sleep(300);
      await synScan();
      await openScan(s, bed.scannerIp);
      const refused = await blockEvent(s, bed.scannerIp, 'refused');
      assert.match(refused.reason, /established connection/);
      assert.doesNotMatch(await ruleset(bed), /198\.18\.0\.2/);
    } finally {
      await s.stop();
      client.kill();
      server.kill();
    }
  },
);

test('dry-run records what would be blocked and installs nothing', { skip }, async () => {
  const s = await startSensor(bed, sensorArgs(bed, ['--block', 'dry-run', '--block-spoofable']));
  try {
    assert.doesNotMatch(await ruleset(bed), /tidewatch/);
    await synScan();
    const scan = await openScan(s, bed.scannerIp);
    assert.equal(scan.action, 'dry-run');
    const ev = await blockEvent(s, bed.scannerIp, 'dry-run');
    assert.ok(ev.until);
    assert.doesNotMatch(await ruleset(bed), /tidewatch/);
    assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok);
    assert.equal(blocks(s).filter((b) => b.action === 'added').length, 0);
  } finally {
    await s.stop();
  }
});
