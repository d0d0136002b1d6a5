// The listener in ports mode, from the scanner namespace against `tidewatch run` in the sensor namespace.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, startSensor, tempDir, type RunningSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed, withTestbed } from '../helpers/testbed.js';
import * as sc from './listener-scenarios.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';
const TCP = '20000-20049,443';
const UDP = '20000-20049';
const tcpPorts = [...Array(50).keys()].map((i) => 20000 + i).concat(443);
const udpPorts = [...Array(50).keys()].map((i) => 20000 + i);
const BASE = ['--http', 'off', '--store', 'off', '--geoip', 'off', ...sc.SCENARIO_SENSOR_ARGS];
const BUFSIZE = 8192;

/** A sensor in ports mode reached on TCP port 20000 only. */
function port20000(bed: Testbed, sensor: RunningSensor): sc.ListenerTarget {
  return {
    bed,
    sensor,
    host4: bed.sensorIp,
    host6: bed.sensorIp6,
    tcpPorts: [20000],
    udpPorts: [],
    bufsize: 8192,
  };
}

describe('listener, ports mode', { skip }, () => {
  let bed: Testbed;
  let t: sc.ListenerTarget;

  before(async () => {
    bed = await createTestbed();
    const sensor = await startSensor(bed, [
      ...BASE,
      '--tcp-ports',
      TCP,
      '--udp-ports',
      UDP,
      '--bufsize',
      String(BUFSIZE),
      '--raw-files',
    ]);
    t = { bed, sensor, host4: bed.sensorIp, host6: bed.sensorIp6, tcpPorts, udpPorts, bufsize: BUFSIZE };
  });
  after(async () => {
    await t?.sensor.stop().catch(() => {});
    await bed?.destroy();
  });

  test('reports what it bound', () => {
    const l = sc.logLine(t.sensor.logs, 'listening on 51 TCP and 50 UDP ports');
    assert.ok(l, 'no "listening on" line');
    assert.equal(l.tcp, '443,20000-20049');
    assert.equal(l.udp, '20000-20049');
  });
  test('nc over TCP', () => sc.ncTcp(t));
  test('nc over UDP', () => sc.ncUdp(t));
  test('a 60 KB datagram', () => sc.udpLarge(t));
  test('IPv6 client, TCP', () => sc.ncTcp(t, 6));
  test('IPv6 client, UDP', () => sc.ncUdp(t, 6));
  test('openssl s_client -servername: TLS with SNI and the decrypted request', async () => {
    await sc.opensslSni(t);
  });
  test('curl -k https://', () => sc.curlHttps(t));
  test('a plaintext and a TLS client on the same port', () => sc.plainAndTlsSamePort(t));
  test('a client that sends nothing', () => sc.silentClient(t));
  test('a client that sends 1 MB', () => sc.oneMegabyte(t));
  test('nmap -sV', () => sc.nmapVersionScan(t));

  test('raw files: TachyonNet layout, safe names with hostile payloads, real destination', async () => {
    const hostile = '../../../etc/passwd\0/%2e%2e/\r\n$(reboot)`id`\n';
    await bed.exec(bed.scannerNs, 'nc', ['-N', '-w', '5', bed.sensorIp, '20001'], { input: hostile });
    await bed.exec(bed.scannerNs, 'nc', ['-6', '-u', '-w', '1', bed.sensorIp6, '20002'], { input: hostile });
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const dir = join(t.sensor.dataDir, 'raw', day);
    const names = await eventually(() => {
      const n = existsSync(dir) ? readdirSync(dir) : [];
      return n.some((x) => x.startsWith('udp_2001-2--2_')) &&
        n.some((x) => x.endsWith('__198.18.0.1_20001.log'))
        ? n
        : undefined;
    });
    assert.ok(names);
    for (const n of names) assert.match(n, /^(tcp|tls|udp)_[0-9a-f.-]+_\d+__[0-9a-f.-]+_\d+\.log$/);
    assert.deepEqual(readdirSync(join(t.sensor.dataDir, 'raw')), [day]);
    const tcpFile = names.find(
      (x) => x.startsWith('tcp_198.18.0.2_') && x.endsWith('__198.18.0.1_20001.log'),
    )!;
    assert.equal(readFileSync(join(dir, tcpFile), 'utf8'), hostile);
    const udpFile = names.find((x) => x.startsWith('udp_2001-2--2_') && x.endsWith('__2001-2--1_20002.log'))!;
    assert.equal(readFileSync(join(dir, udpFile), 'utf8'), hostile);
  });

  test('SIGHUP reopens the sessions file (logrotate)', () => sc.sighupReopens(t));

  // Last: it stops the sensor.
  test('SIGTERM writes open sessions with close "shutdown"', () => sc.shutdownWritesOpen(t));
});

describe('listener, ports mode, 2,000 parallel connections with --max-sessions 500', { skip }, () => {
  test('sheds beyond the cap, counts it, and records every session below it', async () => {
    await withTestbed(async (bed) => {
      const sensor = await startSensor(bed, [
        ...BASE,
        '--tcp-ports',
        '20000-20009',
        '--udp-ports',
        '',
        '--tls',
        'off',
        '--max-sessions',
        '500',
      ]);
      const t = port20000(bed, sensor);
      await sc.sheddingFlood(t);
      assert.ok(
        sc.logLine(
          sensor.logs,
          'at --max-sessions: new connections closed at once (counted in listener_shed_total)',
        ),
      );
    });
  });
});

describe('listener, ports mode, full disk', { skip }, () => {
  test('counts unwritten records, keeps accepting, resumes when space returns', async () => {
    const bed = await createTestbed();
    const dir = tempDir('tw-full-');
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tidewatch-test', dir]);
      mounted = true;
      const sensor = await startSensor(
        bed,
        [...BASE, '--tcp-ports', '20000', '--udp-ports', '', '--tls', 'off'],
        {
          dataDir: dir,
        },
      );
      const t = port20000(bed, sensor);
      // Fill the file system.
      try {
        writeFileSync(join(dir, 'filler'), Buffer.alloc(512 * 1024));
      } catch {
        /* ENOSPC: full, as wanted */
      }
      for (let i = 0; i < 5; i++)
        await bed.exec(bed.scannerNs, 'nc', ['-N', '-w', '3', bed.sensorIp, '20000'], {
          input: `lost-${i}\n`,
        });
      await sensor.waitForLog(/records not written/, 10_000);
      // Past the writer's 1 s retry delay, so the queued records meet the full disk too.
      await new Promise((r) => setTimeout(r, 2500));
      rmSync(join(dir, 'filler'));
      await new Promise((r) => setTimeout(r, 1200));
      await sc.ncTcp(t); // written again (asserts the exact record)
      assert.equal(await sensor.stop(), 0);
      const closed = sc.logLine(sensor.logs, 'sessions file closed');
      assert.ok(closed);
      assert.equal(Number(closed.not_written), 5);
      assert.ok(sensor.logs.some((l) => l.includes('"msg":"writing again"')));
      assert.ok(!sc.records(t).some((r) => sc.payloadOf(r).toString().startsWith('lost-')));
      // No partial line was left behind: every line parsed (records() would have thrown).
    } finally {
      await bed.destroy();
      if (mounted) execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
