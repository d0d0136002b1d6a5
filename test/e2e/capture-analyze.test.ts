// `tidewatch analyze` through the real CLI: one-line errors for files that are not captures, pcapng read
// as pcap is, a file cut mid-packet reported with what was read, BPF filters, and the --json shape.
// (The full ground-truth and tcpdump comparison lives in capture-truth tests; this covers the command.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { writeCapture } from '../helpers/pcap-gen.js';
import { CLI, tempDir } from '../helpers/sensor.js';

const run = promisify(execFile);

async function analyze(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, 'analyze', ...args], { maxBuffer: 256 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const COUNTERS = ['packets', 'malformed', 'tcp', 'udp', 'ip_protocols', 'ethertypes', 'sources'] as const;
const pick = (o: Record<string, unknown>) => Object.fromEntries(COUNTERS.map((k) => [k, o[k]]));

test('files that are not captures get one line on stderr and a non-zero exit', async () => {
  const dir = tempDir();
  const empty = join(dir, 'empty.pcap');
  writeFileSync(empty, '');
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'this is not a capture file at all, just words\n'.repeat(10));
  const cutHeader = join(dir, 'cut-header.pcap');
  writeFileSync(cutHeader, Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0]));
  const sub = join(dir, 'a-directory');
  mkdirSync(sub);
  for (const [file, why] of [
    [join(dir, 'missing.pcap'), /no such file/],
    [empty, /empty file/],
    [text, /not a pcap or pcapng file/],
    [cutHeader, /file header is cut|truncated/],
    [sub, /directory/],
  ] as const) {
    const r = await analyze([file, '--json']);
    assert.notEqual(r.code, 0, file);
    assert.equal(r.stdout, '', file);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line for ${file}: ${r.stderr}`);
    assert.match(lines[0]!, why);
    assert.ok(lines[0]!.startsWith('tidewatch: '));
  }
});

test('pcapng and pcap of the same packets give the same counters, equal to the ground truth', async () => {
  const dir = tempDir();
  const a = join(dir, 'a.pcap');
  const b = join(dir, 'b.pcapng');
  const truth = writeCapture(a, { count: 20_000, seed: 7 });
  writeCapture(b, { count: 20_000, seed: 7, format: 'pcapng' });
  const ra = await analyze([a, '--json']);
  const rb = await analyze([b, '--json']);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  const ja = JSON.parse(ra.stdout) as Record<string, unknown>;
  const jb = JSON.parse(rb.stdout) as Record<string, unknown>;
  assert.deepEqual(pick(jb), pick(ja));
  assert.deepEqual(pick(ja), pick(truth as unknown as Record<string, unknown>));
  assert.equal(ja.truncated, undefined);
});

test('a file cut mid-packet reports everything before the cut and says truncated', async () => {
  const dir = tempDir();
  for (const format of ['pcap', 'pcapng'] as const) {
    const f = join(dir, `cut.${format}`);
    const truth = writeCapture(f, { count: 3000, seed: 11, format, truncateLast: true });
    const r = await analyze([f, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.truncated, true, format);
    assert.equal(j.packets, truth.packets, format);
    assert.deepEqual(pick(j), pick(truth as unknown as Record<string, unknown>));
    assert.match(r.stderr, /truncated/);
    const text = await analyze([f]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /TRUNCATED/);
  }
});

test('--filter takes tcpdump syntax; a bad filter is one line', async () => {
  const dir = tempDir();
  const f = join(dir, 'clean.pcap');
  const truth = writeCapture(f, { count: 20_000, seed: 5, clean: true });
  const r = await analyze([f, '--json', '--filter', 'udp dst port 53']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { packets: number; udp: Record<string, number>; tcp: { all: object } };
  assert.ok(truth.tcpdump['udp dst port 53']! > 0);
  assert.equal(j.packets, truth.tcpdump['udp dst port 53']);
  assert.deepEqual(Object.keys(j.udp), ['53']);
  assert.deepEqual(j.tcp.all, {});
  const bad = await analyze([f, '--filter', 'tcp port']);
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr.split('\n').filter(Boolean).length, 1);
  assert.match(bad.stderr, /bad filter/);
});

test('--json is one document with the documented fields; the text summary names ports and sources', async () => {
  const dir = tempDir();
  const f = join(dir, 'mixed.pcap');
  writeCapture(f, { count: 5000, seed: 2 });
  const r = await analyze([f, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  const j = JSON.parse(r.stdout) as Record<string, unknown> & {
    tcp: { all: Record<string, number>; syn: Record<string, number> };
    ethertypes: Record<string, number>;
    ip_protocols: Record<string, number>;
    daily: Record<string, unknown>[];
  };
  for (const k of ['packets', 'malformed', 'tcp', 'udp', 'ip_protocols', 'ethertypes', 'sources', 'daily'])
    assert.ok(k in j, k);
  assert.equal(typeof j.packets, 'number');
  for (const k of Object.keys(j.tcp.syn)) assert.match(k, /^\d+$/);
  for (const k of Object.keys(j.ethertypes)) assert.match(k, /^0x[0-9a-f]{4}$/);
  for (const k of Object.keys(j.ip_protocols)) assert.ok(Number(k) >= 0 && Number(k) <= 255);
  assert.ok(j.daily.length > 0);
  for (const k of ['proto', 'dst_port', 'dst_ip', 'src_ip', 'first_seen', 'last_seen', 'count'])
    assert.ok(k in j.daily[0]!, k);
  const text = await analyze([f]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /5,000 packets/);
  assert.match(text.stdout, /Top TCP ports/);
  assert.match(text.stdout, /Top sources/);
  assert.match(text.stdout, /IP protocols/);
});
