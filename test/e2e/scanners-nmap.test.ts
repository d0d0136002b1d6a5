// Real nmap scans from the scanner namespace against a live sensor (capture + listener): each run gives one
// scan episode with the right probe type and tool tag; ordinary clients raise none.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProbeKind } from '../../src/core/events.js';
import { startSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import { openScan, scans, sensorArgs, sleep } from './scanners-lib.js';

const skip = !isRoot() && 'needs root';
let bed: Testbed;
before(async () => {
  if (!skip) bed = await createTestbed();
});
after(async () => bed?.destroy());

async function nmapRun(flags: string[], ports: string, probe: ProbeKind, tool: string | undefined) {
  const s = await startSensor(bed, sensorArgs(bed));
  try {
    const r = await bed.exec(bed.scannerNs, 'nmap', [
      '-n',
      '-Pn',
      ...flags,
      '-p',
      ports,
      '--max-retries',
      '1',
      bed.sensorIp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const open = await openScan(s, bed.scannerIp);
    await sleep(1500); // let late probes arrive: they must update the episode, not open another
    assert.equal(open.action, 'logged');
  } finally {
    await s.stop();
  }
  const all = scans(s, bed.scannerIp);
  assert.equal(new Set(all.map((e) => e.id)).size, 1, `one episode: ${JSON.stringify(all)}`);
  assert.equal(all.filter((e) => e.state === 'open').length, 1);
  // The episode's last word (closed at shutdown) names the probe type and tool: the open event comes at
  // the 15th port and may precede evidence such as the listener's handshakes of a connect() scan.
  const closed = all.find((e) => e.state === 'closed');
  assert.ok(closed, 'episode closed at shutdown');
  assert.equal(closed.probe, probe, JSON.stringify(all));
  assert.equal(closed.tool, tool, JSON.stringify(all));
  assert.equal(scans(s).length, all.length, 'no scan from anyone else');
}

test('nmap -sS: one syn scan tagged nmap', { skip }, () => nmapRun(['-sS'], '1-100', 'syn', 'nmap'));
test('nmap -sF: one fin scan tagged nmap', { skip }, () => nmapRun(['-sF'], '1-100', 'fin', 'nmap'));
test('nmap -sN: one null scan tagged nmap', { skip }, () => nmapRun(['-sN'], '1-100', 'null', 'nmap'));
test('nmap -sX: one xmas scan tagged nmap', { skip }, () => nmapRun(['-sX'], '1-100', 'xmas', 'nmap'));
test('nmap -sU: one udp scan', { skip }, () => nmapRun(['-sU'], '40-70,161', 'udp', undefined));
// A connect() scan is sent by the kernel's own stack: no nmap header fingerprint, but the handshakes the
// listener completes make it a connect scan.
test('nmap -sT: one connect scan', { skip }, () => nmapRun(['-sT'], '1-100', 'connect', undefined));

test('ordinary clients (curl, a few nc sessions) raise no scan', { skip }, async () => {
  const s = await startSensor(bed, sensorArgs(bed));
  try {
    for (let i = 0; i < 3; i++) {
      const c = await bed.exec(bed.scannerNs, 'curl', [
        '-s',
        '-m',
        '3',
        '-o',
        '/dev/null',
        `http://${bed.sensorIp}/`,
      ]);
      assert.ok(c.code !== null);
    }
    for (const port of [22, 443, 8080, 21]) {
      const r = await bed.exec(bed.scannerNs, 'nc', ['-N', '-w', '1', bed.sensorIp, String(port)], {
        input: 'hello\n',
      });
      assert.ok(r.code !== null);
    }
    await sleep(2500);
  } finally {
    await s.stop();
  }
  assert.deepEqual(scans(s), []);
});
