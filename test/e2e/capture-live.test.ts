// Live capture in the namespace test bed: the scanner sends known numbers of SYNs (plain and ECN), UDP
// datagrams and ICMP echoes; the sensor counts them exactly and never counts what it sends itself
// (the RSTs, port unreachables and echo replies it answers with). Counters are read from the
// --json-tcp lines a socat receiver in the sensor namespace writes to a file.
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRoot, type Testbed, withTestbed } from '../helpers/testbed.js';
import { eventually, startSensor, tempDir, type RunningSensor } from '../helpers/sensor.js';

interface Line {
  new_all: string;
  Value_source: string;
  Value_type: string;
  Port: number;
  Count: number;
  ts: string;
  sensor: string;
}

export function readLines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
}

/** Sums Count per "New/All source port" key over all report intervals. */
export function totals(lines: Line[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) {
    const k = `${l.new_all} ${l.Value_source} ${l.Port}`;
    m.set(k, (m.get(k) ?? 0) + l.Count);
  }
  return m;
}

const sumOf = (m: Map<string, number>, prefix: string): number =>
  [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);

/** socat as a single-sender TCP collector inside a namespace, appending to a file. */
export async function startSocat(bed: Testbed, ns: string, port: number, file: string): Promise<void> {
  bed.spawn(ns, 'socat', [
    '-u',
    `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`,
    `OPEN:${file},creat,append`,
  ]);
  await eventually(async () => {
    const r = await bed.exec(ns, 'ss', ['-ltnH', `sport = :${port}`]);
    return r.stdout.includes(String(port));
  }, 5000);
}

/**
 * A collector on 127.0.0.1:port in the sensor namespace, and a capture-only sensor on iface reporting to it
 * every second; resolves once capture has started. `out` is the collector's file.
 */
async function startCapture(
  bed: Testbed,
  iface: string,
  port: number,
): Promise<{ sensor: RunningSensor; out: string }> {
  const out = join(tempDir(), 'collector.jsonl');
  await startSocat(bed, bed.sensorNs, port, out);
  const sensor = await startSensor(bed, [
    ...['--capture', iface, '--listen', 'off', '--report-interval', '1s', '--flush', '1s'],
    ...['--http', 'off', '--store', 'off', '--geoip', 'off', '--json-tcp', `127.0.0.1:${port}`],
  ]);
  await sensor.waitForLog(/capture started/);
  return { sensor, out };
}

test(
  'live capture counts the scanner exactly and not the sensor own packets',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      const { sensor, out } = await startCapture(bed, bed.sensorIf, 15170);
      const S = bed.sensorIp;
      const run = async (args: string[]): Promise<void> => {
        const r = await bed.exec(bed.scannerNs, 'hping3', args, { timeoutMs: 30_000 });
        assert.ok(r.code === 0 || r.code === 1, `hping3 ${args.join(' ')}: ${r.stderr}`);
      };
      await run(['-q', '-S', '-c', '300', '-i', 'u1000', '-p', '2222', S]);
      // SYN with ECE and CWR (an ECN SYN) is a connection attempt too (raw_sock_port_mon missed it).
      await run(['-q', '-S', '-X', '-Y', '-c', '40', '-i', 'u1000', '-p', '2223', S]);
      await run(['-q', '-A', '-c', '25', '-i', 'u1000', '-p', '2224', S]);
      await run(['-q', '--udp', '-c', '150', '-i', 'u1000', '-p', '5353', '-d', '100', S]);
      await run(['-q', '-1', '-c', '20', '-i', 'u1000', S]);
      // Traffic the sensor starts itself: its SYN goes out, the scanner's RST comes in (counted, incoming).
      const own = await bed.exec(bed.sensorNs, 'hping3', [
        '-q',
        '-S',
        '-c',
        '7',
        '-i',
        'u1000',
        '-p',
        '4444',
        bed.scannerIp,
      ]);
      assert.ok(own.code === 0 || own.code === 1, own.stderr);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await sensor.stop(), 0);

      const m = totals(readLines(out));
      assert.equal(m.get('New TCP 2222'), 300, 'SYNs to 2222');
      assert.equal(m.get('All TCP 2222'), 300);
      assert.equal(m.get('New TCP 2223'), 40, 'ECN SYNs are connection attempts');
      assert.equal(m.get('New TCP 2224'), undefined, 'ACKs are not connection attempts');
      assert.equal(m.get('All TCP 2224'), 25);
      assert.equal(m.get('All UDP 5353'), 150);
      // The scanner's 7 RSTs answering the sensor's own SYNs come in (to the sensor's source ports).
      assert.equal(
        sumOf(m, 'New TCP'),
        340,
        'no other connection attempt (the sensor own SYNs are outgoing)',
      );
      assert.equal(sumOf(m, 'All TCP'), 300 + 40 + 25 + 7, 'the sensor RSTs are not counted');
      assert.equal(sumOf(m, 'All UDP'), 150);
      assert.equal(m.get('All IP 1'), 20, 'echo requests only, not the replies nor port unreachables');
      assert.equal(m.get('All IP 6'), 372);
      assert.equal(m.get('All IP 17'), 150);
      assert.equal(m.get('All ETH 2048'), 372 + 150 + 20, 'IPv4 ethertype in host byte order');
      const log = sensor.logs.join('\n');
      assert.match(log, /capture totals/);
    });
  },
);

test(
  '--capture any: what the sensor sends to itself is not counted',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      const { sensor, out } = await startCapture(bed, 'any', 15171);
      const hping = async (ns: string, args: string[]): Promise<void> => {
        const r = await bed.exec(ns, 'hping3', ['-q', ...args], { timeoutMs: 30_000 });
        assert.ok(r.code === 0 || r.code === 1, r.stderr);
      };
      await hping(bed.scannerNs, ['-S', '-c', '50', '-i', 'u1000', '-p', '2222', bed.sensorIp]);
      // On `any`, loopback packets show up as incoming too: only the own-address list keeps them out.
      await hping(bed.sensorNs, ['-S', '-c', '30', '-i', 'u1000', '-p', '5555', '127.0.0.1']);
      await hping(bed.sensorNs, ['-S', '-c', '20', '-i', 'u1000', '-p', '5556', bed.sensorIp]);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await sensor.stop(), 0);
      const m = totals(readLines(out));
      assert.equal(m.get('New TCP 2222'), 50);
      assert.equal(m.get('New TCP 5555'), undefined, 'SYNs from 127.0.0.1 to itself');
      assert.equal(m.get('New TCP 5556'), undefined, 'SYNs from the sensor address to itself');
      assert.equal(sumOf(m, 'New TCP'), 50);
    });
  },
);

test(
  'IPv6: connection attempts and datagrams counted exactly',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      const { sensor, out } = await startCapture(bed, bed.sensorIf, 15172);
      // bash's /dev/tcp and /dev/udp: each connect is one SYN (the sensor's RST ends it, no retransmission),
      // each redirection one datagram.
      const script =
        `for i in $(seq 12); do (exec 3<>/dev/tcp/${bed.sensorIp6}/7777) 2>/dev/null; done; ` +
        `for i in $(seq 9); do echo probe > /dev/udp/${bed.sensorIp6}/6161; done; true`;
      const r = await bed.exec(bed.scannerNs, 'bash', ['-c', script]);
      assert.equal(r.code, 0, r.stderr);
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(await sensor.stop(), 0);
      const m = totals(readLines(out));
      assert.equal(m.get('New TCP 7777'), 12);
      assert.equal(m.get('All TCP 7777'), 12, 'no ACK or RST from the sensor counted');
      assert.equal(m.get('All UDP 6161'), 9);
      assert.equal(m.get('All IP 6'), 12, 'IPv6 next header 6');
      assert.equal(m.get('All IP 17'), 9);
    });
  },
);
