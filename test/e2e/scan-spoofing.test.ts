// Scan detection against spoofed traffic, in the namespace test bed with real tools: a flood of spoofed
// sweeps cannot hide or shield a real scanner (alert budgets, blocking independent of them), old handshake
// evidence does not make a spoofed sweep blockable (--handshake-window), and every probe type is reported.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ScanEvent } from '../../src/core/events.js';
import { eventually, startSensor, tempDir } from '../helpers/sensor.js';
import { writeSpoofedSweeps } from '../helpers/spoofed-sweeps.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import {
  blockEvent,
  blocks,
  masscanRun,
  openScan,
  scans,
  sensorArgs,
  sleep,
  tryConnect,
} from './scanners-lib.js';

const skip = !isRoot() && 'needs root';
let bed: Testbed;
before(async () => {
  if (!skip) bed = await createTestbed();
});
after(async () => bed?.destroy());

const HTTP = '127.0.0.1:18339';
/** The flood: 300 new spoofed sources a second, 16 SYNs each, for 60 s. */
const FLOOD = { perSecond: 300, seconds: 60, ports: 16 };

async function metric(name: string): Promise<number> {
  const r = await bed.exec(bed.sensorNs, 'curl', ['-sf', '-m', '5', `http://${HTTP}/metrics`]);
  const m = new RegExp(`^tidewatch_${name} (\\d+)`, 'm').exec(r.stdout);
  return m ? Number(m[1]) : NaN;
}

/** A SYN sweep of `count` ports from `src` (hping3: raw SYNs, no handshake; `src` may be spoofed). */
async function synSweep(src: string, firstPort: number, count = 20, flags = ['-S']): Promise<void> {
  const args = ['-q', ...flags, '-a', src, '-p', `++${firstPort}`, '-c', String(count), '-i', 'u10000'];
  const r = await bed.exec(bed.scannerNs, 'hping3', [...args, bed.sensorIp], { timeoutMs: 30_000 });
  assert.ok(r.code === 0 || r.code === 1, `hping3: ${r.stderr.slice(0, 300)}`);
}

test(
  'a spoofed flood neither hides nor shields nmap -sT: reported, blocked, no spoofed source blocked',
  { skip },
  async () => {
    const pcap = join(tempDir('tw-flood-'), 'flood.pcap');
    const sweeps = writeSpoofedSweeps(pcap, {
      sources: FLOOD.perSecond * FLOOD.seconds,
      ports: FLOOD.ports,
      firstPort: 3000,
      dst: bed.sensorIp,
    });
    const s = await startSensor(bed, sensorArgs(bed, ['--block', 'on', '--block-for', '1h'], HTTP));
    try {
      const pps = FLOOD.perSecond * FLOOD.ports;
      const flood = bed.exec(
        bed.scannerNs,
        'tcpreplay',
        ['-q', '-i', bed.scannerIf, '--pps', String(pps), pcap],
        {
          timeoutMs: (FLOOD.seconds + 60) * 1000,
        },
      );
      // The flood empties the global alert budget within a second; then the real scanner starts.
      await eventually(async () => (await metric('scan_alerts_suppressed_global_total')) > 100, 20_000, 500);
      const nmap = await bed.exec(
        bed.scannerNs,
        'nmap',
        ['-n', '-Pn', '-sT', '-p', '1-200', '--max-retries', '0', '--host-timeout', '30s', bed.sensorIp],
        { timeoutMs: 45_000 },
      );
      assert.equal(nmap.code, 0, nmap.stderr);
      const scan = await openScan(s, bed.scannerIp, 20_000);
      assert.equal(scan.handshake_completed, true, JSON.stringify(scan));
      assert.equal(scan.probe, 'connect');
      assert.equal(scan.action, 'blocked');
      await blockEvent(s, bed.scannerIp, 'added');
      const replay = await flood;
      assert.equal(replay.code, 0, `tcpreplay: ${replay.stderr.slice(0, 300)}`);
      assert.ok((await metric('scan_alerts_suppressed_total')) > 1000, 'suppressed episodes are counted');
      assert.ok((await metric('scan_alerts_suppressed_global_total')) > 1000);
    } finally {
      await s.stop();
    }
    const spoofed = new Set(sweeps.sources);
    const added = blocks(s).filter((b) => b.action === 'added');
    assert.deepEqual([...new Set(added.map((b) => b.src))], [bed.scannerIp], 'no spoofed source blocked');
    // The few spoofed episodes that were reported carry their one refusal; the rest are judged quietly.
    const refused = blocks(s).filter((b) => spoofed.has(b.src));
    assert.ok(refused.every((b) => b.action === 'refused' && /handshake-window/.test(b.reason)));
    const reported = new Set(
      scans(s)
        .filter((e) => spoofed.has(e.src))
        .map((e) => e.src),
    );
    assert.ok(reported.size > 0, 'the flood was detected');
    // 60 a minute (plus refill) of 18,000 spoofed episodes reached the alert stream.
    assert.ok(reported.size <= 200, `${reported.size} spoofed episodes reported`);
  },
);

test(
  'handshake evidence older than --handshake-window does not count; inside it, it blocks',
  { skip },
  async () => {
    const s = await startSensor(
      bed,
      sensorArgs(bed, [
        '--handshake-window',
        '4s',
        '--scan-episode-gap',
        '5s',
        '--block',
        'on',
        '--block-for',
        '1h',
      ]),
    );
    try {
      assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok, 'a real connection');
      await sleep(8000);
      await synSweep(bed.scannerIp, 1000);
      const old = await openScan(s, bed.scannerIp);
      assert.equal(old.handshake_completed, false, JSON.stringify(old));
      assert.equal(old.action, 'logged');
      assert.match((await blockEvent(s, bed.scannerIp, 'refused')).reason, /handshake-window/);
      const closed = await eventually(
        () => scans(s, bed.scannerIp).find((e) => e.state === 'closed'),
        20_000,
      );
      assert.ok(closed, 'the first episode closes after the gap');
      // The same sweep right after a real connection.
      assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok);
      await synSweep(bed.scannerIp, 2000);
      const fresh = await eventually(
        () => scans(s, bed.scannerIp).find((e) => e.state === 'open' && e.id !== old.id),
        15_000,
      );
      assert.ok(fresh, 'a second episode');
      assert.equal(fresh.handshake_completed, true, JSON.stringify(fresh));
      assert.equal(fresh.action, 'blocked');
      await blockEvent(s, bed.scannerIp, 'added');
      assert.equal(blocks(s, bed.scannerIp).filter((b) => b.action === 'added').length, 1);
    } finally {
      await s.stop();
    }
  },
);

test(
  'masscan SYN then hping3 XMAS from one address: one episode, probe_types has both, xmas updated at once',
  { skip },
  async () => {
    const src = '198.18.0.50';
    // A bed of its own: after the spoofed flood, masscan's user-space stack in the old bed stalled until
    // its timeout (it passes alone), so what the flood left in the namespaces must not reach this test.
    await bed.destroy();
    bed = await createTestbed();
    const s = await startSensor(bed, sensorArgs(bed));
    try {
      const masscan = await bed.exec(bed.scannerNs, ...masscanRun(bed, src), { timeoutMs: 90_000 });
      assert.equal(masscan.code, 0, masscan.stderr.slice(0, 300));
      const open = await openScan(s, src);
      assert.equal(open.probe, 'syn');
      assert.equal(open.probe_types?.xmas, undefined);
      const t0 = Date.now();
      await synSweep(src, 300, 20, ['-F', '-P', '-U']);
      const xmas = await eventually(
        () => scans(s, src).find((e) => e.state === 'update' && (e.probe_types?.xmas ?? 0) > 0),
        15_000,
      );
      assert.ok(xmas, `an update naming xmas: ${JSON.stringify(scans(s, src))}`);
      assert.ok(Date.now() - t0 < 45_000, 'at once, not at the next minute');
      assert.equal(xmas.id, open.id);
      assert.ok(xmas.probe_types!.syn! >= 15, JSON.stringify(xmas.probe_types));
    } finally {
      await s.stop();
    }
    const all = scans(s, src);
    assert.equal(new Set(all.map((e) => e.id)).size, 1, 'one episode');
    const closed = all.find((e) => e.state === 'closed') as ScanEvent;
    assert.ok(
      closed.probe_types!.syn! >= 100 && closed.probe_types!.xmas! >= 15,
      JSON.stringify(closed.probe_types),
    );
    assert.equal(closed.probe, 'syn');
  },
);
