// `tidewatch analyze FILE --json` (the real CLI) on generated captures with known ground truth: every
// counter compared exactly, in pcap and pcapng, for every link type; and against tcpdump -r with
// equivalent filters, which also checks that the generator's ground truth is itself right.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  sortRows,
  writeCapture,
  type GenOptions,
  type GroundTruth,
  type TruthRow,
} from '../helpers/pcap-gen.js';
import { CLI } from '../helpers/sensor.js';

const dir = mkdtempSync(join(tmpdir(), 'tw-analyze-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Report extends Omit<GroundTruth, 'tcpdump' | 'bytes'> {
  truncated?: boolean;
}

function analyze(file: string): { report: Report; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [CLI, 'analyze', file, '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  assert.equal(r.status, 0, r.stderr);
  return { report: JSON.parse(r.stdout) as Report, stderr: r.stderr, status: r.status };
}

function assertMatches(report: Report, truth: GroundTruth, what: string): void {
  for (const k of ['packets', 'malformed', 'udp', 'ip_protocols', 'ethertypes', 'sources'] as const)
    assert.deepEqual(report[k], truth[k], `${what}: ${k}`);
  assert.deepEqual(report.tcp.all, truth.tcp.all, `${what}: tcp.all`);
  assert.deepEqual(report.tcp.syn, truth.tcp.syn, `${what}: tcp.syn`);
  assert.deepEqual(sortRows([...report.daily] as TruthRow[]), truth.daily, `${what}: daily`);
}

function gen(name: string, o: GenOptions): [string, GroundTruth] {
  const file = join(dir, name);
  return [file, writeCapture(file, o)];
}

test('analyze: every counter equals the ground truth (Ethernet, VLAN, QinQ, IPv6, fragments, malformed)', () => {
  const [file, truth] = gen('rich.pcap', { seed: 11, count: 60_000 });
  assert.ok(truth.malformed > 1000 && Object.keys(truth.ethertypes).length >= 6);
  // The file crosses UTC midnight: rows of two days.
  assert.equal(new Set(truth.daily.map((r) => r.day)).size, 2);
  assertMatches(analyze(file).report, truth, 'rich pcap');
});

test('analyze: pcapng and every link type (SLL, SLL2, raw IP)', () => {
  const cases: [string, GenOptions][] = [
    ['rich.pcapng', { seed: 12, count: 20_000, format: 'pcapng' }],
    ['sll.pcap', { seed: 13, count: 20_000, linktype: 113 }],
    ['sll2.pcapng', { seed: 14, count: 20_000, linktype: 276, format: 'pcapng' }],
    ['raw.pcap', { seed: 15, count: 20_000, linktype: 101 }],
  ];
  for (const [name, o] of cases) {
    const [file, truth] = gen(name, o);
    assertMatches(analyze(file).report, truth, name);
  }
});

test('analyze: a file cut off mid-packet reports all it read and says it was truncated', () => {
  const [file, truth] = gen('cut.pcap', { seed: 16, count: 5000, truncateLast: true });
  const r = analyze(file);
  assert.equal(r.report.truncated, true);
  assert.match(r.stderr, /truncated/);
  assertMatches(r.report, truth, 'truncated');
});

/** Packets tcpdump matches: it writes them as a pcap to stdout; the records are counted here. */
function tcpdumpCount(file: string, filter: string): number {
  const args = ['-nn', '-r', file, '-w', '-'];
  if (filter) args.push(filter);
  const r = spawnSync('tcpdump', args, { maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `tcpdump ${filter}: ${r.stderr?.toString()}`);
  const b = r.stdout;
  let n = 0;
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) n++;
  return n;
}

test('analyze agrees with tcpdump -r on equivalent filters (and so does the ground truth)', () => {
  const [file, truth] = gen('clean.pcap', { seed: 21, count: 40_000, clean: true });
  const td = new Map<string, number>();
  for (const [filter, want] of Object.entries(truth.tcpdump)) {
    const got = tcpdumpCount(file, filter);
    td.set(filter, got);
    assert.equal(got, want, `tcpdump '${filter}'`);
  }
  const { report } = analyze(file);
  const depths = (f: string): number =>
    ['', 'vlan and ', 'vlan and vlan and '].reduce((a, p) => a + (td.get(p + f) ?? 0), 0);
  const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, v) => a + v, 0);
  assert.equal(report.packets, td.get(''));
  assert.equal(
    sum(report.tcp.syn),
    depths('tcp[13]&0x12==0x02') + depths('ip6 and ip6[6]==6 and ip6[53]&0x12==0x02'),
  );
  assert.equal(sum(report.udp), depths('ip and udp and ip[6:2]&0x1fff==0') + depths('ip6 and udp'));
  assert.equal(report.ip_protocols['17'], depths('udp'));
  assert.equal(report.ip_protocols['1'], depths('icmp'));
  assert.equal(report.ip_protocols['58'], depths('icmp6'));
  assert.equal(report.ethertypes['0x0806'], depths('arp'));
  assert.equal(report.ethertypes['0x0800'], depths('ip'));
  assert.equal(report.ethertypes['0x86dd'], depths('ip6'));
  // Per port, without VLAN (byte order of ports; 83 is not swallowed by 8338).
  for (const p of [83, 8338]) {
    const v4only = tcpdumpCount(file, `tcp dst port ${p} and tcp[13]&0x12==0x02`);
    assert.ok(v4only > 0 && report.tcp.syn[String(p)]! >= v4only, `port ${p}`);
  }
  assert.ok(report.udp['53']! >= (td.get('udp dst port 53') ?? 0) && (td.get('udp dst port 53') ?? 0) > 0);
});
