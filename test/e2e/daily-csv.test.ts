// The daily CSV from a real sensor in the namespace test bed: capture mode counts hping3's SYNs and UDP
// datagrams per source (a new UDP source port never resets a row), a restart continues today's rows, and
// a listener-only sensor gets rows from accepted connections.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRoot, type Testbed, withTestbed } from '../helpers/testbed.js';
import { startSensor, tempDir } from '../helpers/sensor.js';

const HEADER = 'proto dst_port dst_ip src_ip first_seen last_seen count';
const skip = !isRoot() && 'needs root';
const QUIET = ['--http', 'off', '--store', 'off', '--geoip', 'off', '--flush', '1s'];

function readCsv(dataDir: string): { header: string; rows: Map<string, number[]> } {
  const file = join(dataDir, 'daily', `${new Date().toISOString().slice(0, 10)}.csv`);
  assert.ok(existsSync(file), `${file} missing`);
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const rows = new Map<string, number[]>();
  for (const l of lines) {
    const f = l.split(' ');
    assert.equal(f.length, 7, l);
    rows.set(f.slice(0, 4).join(' '), f.slice(4).map(Number));
  }
  return { header: header!, rows };
}

async function hping(bed: Testbed, args: string[]): Promise<void> {
  const r = await bed.exec(bed.scannerNs, 'hping3', args, { timeoutMs: 30_000 });
  assert.ok(r.code === 0 || r.code === 1, `hping3 ${args.join(' ')}: ${r.stderr}`);
}

test('capture mode: rows per source, exact counts, restart keeps the day', { skip }, async () => {
  await withTestbed(async (bed) => {
    const dataDir = tempDir();
    const args = ['--capture', bed.sensorIf, '--listen', 'off', ...QUIET];
    const t0 = Math.floor(Date.now() / 1000);
    let sensor = await startSensor(bed, args, { dataDir });
    await sensor.waitForLog(/capture started/);
    const S = bed.sensorIp;
    await hping(bed, ['-q', '-S', '-c', '30', '-i', 'u2000', '-p', '2222', S]);
    await hping(bed, ['-q', '-S', '-X', '-Y', '-c', '5', '-i', 'u2000', '-p', '2222', S]);
    await hping(bed, ['-q', '-A', '-c', '9', '-i', 'u2000', '-p', '2223', S]);
    // hping3 moves the UDP source port on every datagram: the row must still count all 20.
    await hping(bed, ['-q', '--udp', '-c', '20', '-i', 'u2000', '-p', '5353', S]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await sensor.stop(), 0);
    let csv = readCsv(dataDir);
    assert.equal(csv.header, HEADER);
    const tcpKey = `TCP 2222 ${S} ${bed.scannerIp}`;
    const udpKey = `UDP 5353 ${S} ${bed.scannerIp}`;
    const [f1, l1, c1] = csv.rows.get(tcpKey) ?? [];
    assert.equal(c1, 35, 'SYNs and ECN SYNs');
    assert.ok(f1! >= t0 && l1! >= f1! && l1! <= Math.floor(Date.now() / 1000));
    assert.equal(csv.rows.get(udpKey)?.[2], 20);
    assert.equal(csv.rows.get(`TCP 2223 ${S} ${bed.scannerIp}`), undefined, 'ACKs are not attempts');
    assert.equal(csv.rows.size, 2, [...csv.rows.keys()].join('; '));

    sensor = await startSensor(bed, args, { dataDir });
    await sensor.waitForLog(/capture started/);
    await hping(bed, ['-q', '-S', '-c', '10', '-i', 'u2000', '-p', '2222', S]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await sensor.stop(), 0);
    csv = readCsv(dataDir);
    assert.equal(csv.rows.get(tcpKey)?.[2], 45, 'the restart continued the row');
    assert.equal(csv.rows.get(tcpKey)?.[0], f1, 'first_seen kept');
    assert.equal(csv.rows.get(udpKey)?.[2], 20);
  });
});

test('listener-only sensor: rows from accepted connections', { skip }, async () => {
  await withTestbed(async (bed) => {
    const dataDir = tempDir();
    const sensor = await startSensor(
      bed,
      ['--listen', 'ports', '--tcp-ports', '20500', '--udp-ports', '', '--tls', 'off', ...QUIET],
      { dataDir },
    );
    for (let i = 0; i < 4; i++) {
      const r = await bed.exec(bed.scannerNs, 'nc', ['-z', '-w', '2', bed.sensorIp, '20500'], {
        timeoutMs: 10_000,
      });
      assert.equal(r.code, 0, r.stderr);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await sensor.stop(), 0);
    const csv = readCsv(dataDir);
    assert.equal(csv.rows.get(`TCP 20500 ${bed.sensorIp} ${bed.scannerIp}`)?.[2], 4);
  });
});
