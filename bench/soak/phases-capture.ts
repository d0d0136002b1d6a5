// Soak phases that load capture: (b) a million spoofed sources against --max-sources, (d) the JSON-over-TCP
// collector down for --collector-down-s, (f) fuzzed frames replayed live into the capture interface.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseSize } from '../../src/config/units.js';
import { ether, ipv4, ipv6, tcp } from '../../test/helpers/pcap-frames.js';
import { PacketMaker, rng } from '../../test/helpers/pcap-mix.js';
import { eventually, tempDir } from '../../test/helpers/sensor.js';
import { killTree, type Testbed } from '../../test/helpers/testbed.js';
import { int, mib, MiB, PcapWriter, replay, type Row, rss, sampleMax, sensor, type Sensor } from './lib.js';
import { sleep, type SoakOptions } from './lib.js';

const captureArgs = (bed: Testbed) => ['--capture', bed.sensorIf, '--listen', 'off', '--store', 'off'];

/** Waits until the sensor has taken every packet sent so far (its packet counter stops moving). */
async function settled(s: Sensor): Promise<number> {
  let last = -1;
  for (let i = 0; i < 120; i++) {
    const now = await s.metric('capture_packets_total');
    if (now === last && now > 0) return now;
    last = now;
    await sleep(1000);
  }
  return last;
}

/** SYNs from `count` distinct IPv6 sources in 2001:2:0:1::/64 (RFC 5180's benchmarking range, off-link). */
function spoofedSyns(file: string, first: number, count: number): void {
  const w = new PcapWriter(file);
  for (let i = first; i < first + count; i++) {
    const src = `2001:2:0:1::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
    const seg = tcp({ sport: 40000 + (i % 20000), dport: 1 + (i % 1024), flags: 0x02, seq: i });
    w.add(ether(0x86dd, ipv6({ src, dst: '2001:2::100', nextHeader: 6, payload: seg })));
  }
  w.close();
}

/** (b) 1M spoofed sources through capture at --max-sources 100000: RSS stops growing at the bound. */
export async function spoofedSources(bed: Testbed, o: SoakOptions): Promise<Row> {
  const maxSources = 100_000;
  const sources = o.quick ? 300_000 : 1_000_000;
  const pps = 25_000;
  const dir = tempDir('tw-soak-spoof-');
  const half = Math.floor(sources / 2);
  const files = [join(dir, 'a.pcap'), join(dir, 'b.pcap')];
  spoofedSyns(files[0]!, 0, half);
  spoofedSyns(files[1]!, half, sources - half);
  const s = await sensor(bed, [...captureArgs(bed), '--max-sources', String(maxSources), '--flush', '5s']);
  await sleep(3000);
  const before = rss(s.pid).now;
  const mid: number[] = [];
  let packets = 0;
  for (const f of files) {
    await replay(bed, f, pps);
    packets = await settled(s);
    mid.push(rss(s.pid).now);
  }
  const evicted = await s.metric('detect_sources_evicted_total');
  const drops = await s.metric('capture_kernel_drops');
  const peak = rss(s.pid).peak;
  const alive = s.proc.exitCode === null;
  const code = await s.stop();
  // 2 KiB per source held: ~4x the detector's retained 504 B (bench/detect), room for the daily table,
  // the tagger and V8's uncollected garbage.
  const bound = before + maxSources * 2048;
  const [atHalf, atEnd] = [mid[0]!, mid[1]!];
  return {
    phase: 'b. 1M spoofed sources through capture',
    held: `--max-sources ${int(maxSources)}: RSS and its peak <= before + 2 KiB x max-sources`,
    figure:
      `${int(sources)} sources at ${int(pps)} pps: ${int(packets)} captured, ${int(drops)} kernel drops, ` +
      `${int(evicted)} evicted; RSS ${mib(before)} before, ${mib(atHalf)} at half, ${mib(atEnd)} after ` +
      `(peak ${mib(peak)}), bound ${mib(bound)}; exit ${String(code)}`,
    pass: alive && code === 0 && atEnd <= bound && peak <= bound && evicted > 0,
    command: '',
  };
}

/** SYNs to ports 1000-1299 from off-link sources: 600 counter lines per report. */
function portSweep(file: string): void {
  const w = new PcapWriter(file);
  for (let i = 0; i < 300; i++) {
    const seg = tcp({ sport: 40000 + i, dport: 1000 + i, flags: 0x02 });
    w.add(ether(0x0800, ipv4({ src: `198.19.1.${i & 255}`, dst: '198.18.0.1', proto: 6, payload: seg })));
  }
  w.close();
}

function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const b = readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** (d) The collector (socat, a real TCP receiver) down for a while: the spool stays bounded, loses nothing. */
export async function collectorDown(bed: Testbed, o: SoakOptions): Promise<Row> {
  const spoolMax = parseSize(o.spoolMax) ?? 32 * MiB;
  const dir = tempDir('tw-soak-collector-');
  const out = join(dir, 'received.jsonl');
  const pcap = join(dir, 'ports.pcap');
  portSweep(pcap);
  const collector = () =>
    bed.spawn(bed.sensorNs, 'socat', [
      '-u',
      'TCP-LISTEN:19514,bind=127.0.0.1,fork,reuseaddr',
      `OPEN:${out},creat,append`,
    ]);
  let c = collector();
  await sleep(500);
  const s = await sensor(bed, [
    ...captureArgs(bed),
    ...['--json-tcp', '127.0.0.1:19514', '--report-interval', '1s', '--spool-max', o.spoolMax],
  ]);
  const upS = o.quick ? 10 : 30;
  const spool = join(s.dataDir, 'spool', 'json-tcp.spool');
  const size = sampleMax(() => (existsSync(spool) ? statSync(spool).size : 0), 1000);
  const traffic = replay(bed, pcap, 300, upS * 2 + o.collectorDownS);
  await sleep(upS * 1000);
  killTree(c.pid!, 'SIGTERM');
  const downAt = Date.now();
  await sleep(o.collectorDownS * 1000);
  c = collector();
  const downS = (Date.now() - downAt) / 1000;
  await traffic;
  await sleep(3000); // the last report after the traffic
  const produced = await s.metric('json_tcp_lines_total');
  const overflow = await s.metric('json_tcp_spool_overflow_total');
  const drained = await eventually(() => countLines(out) >= produced - overflow, 180_000, 1000);
  const { max } = await size.stop();
  const received = countLines(out);
  const code = await s.stop();
  killTree(c.pid!, 'SIGTERM');
  return {
    phase: `d. JSON-TCP collector down ${Math.round(downS)} s`,
    held: `--spool-max ${o.spoolMax} (${int(spoolMax)} B) as a file; received = produced - counted overflow`,
    figure:
      `${int(produced)} lines produced, ${int(overflow)} overflowed (counted), ${int(received)} received ` +
      `by socat; spool file max ${mib(max)}; ${drained ? 'drained' : 'NOT drained'}; exit ${String(code)}`,
    pass: max <= spoolMax && received === produced - overflow && code === 0,
    command: '',
  };
}

/** Valid frames of the capture generator's mix, then mutated: cut, bytes flipped, lengths lied, noise. */
export function fuzzedFrames(file: string, count: number, seed: number): void {
  const r = rng(seed);
  const maker = new PacketMaker(r, false, false);
  const w = new PcapWriter(file);
  const ethertypes = [0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806];
  for (let i = 0; i < count; i++) {
    const [type, net] = maker.make();
    let f = Buffer.from(ether(type, net));
    const k = r();
    // At least 20 bytes: the receiving kernel drops a VLAN-tagged frame shorter than its tag and the next
    // type field before any capture sees it (the sensor cannot count what it is never handed).
    if (k < 0.25) f = f.subarray(0, Math.min(f.length, 20 + Math.floor(r() * (f.length - 14))));
    else if (k < 0.5)
      for (let j = 0; j < 1 + r() * 4; j++) f[14 + Math.floor(r() * (f.length - 14))] = r() * 256;
    else if (k < 0.75)
      f.writeUInt16BE(Math.floor(r() * 65536), 14 + 2 * Math.floor(r() * 4)); // a length field
    else {
      f = Buffer.alloc(20 + Math.floor(r() * 1494));
      for (let j = 14; j < f.length; j++) f[j] = r() * 256;
      ether(0, Buffer.alloc(0)).copy(f);
      f.writeUInt16BE(r() < 0.8 ? ethertypes[Math.floor(r() * 5)]! : Math.floor(r() * 65536), 12);
    }
    w.add(f.length > 1514 ? f.subarray(0, 1514) : f);
  }
  w.close();
}

/** (f) Fuzzed frames replayed live: the sensor stays up and counts every frame as malformed or decoded. */
export async function fuzzedReplay(bed: Testbed, o: SoakOptions): Promise<Row> {
  const count = o.quick ? 50_000 : 300_000;
  const pps = 20_000;
  const file = join(tempDir('tw-soak-fuzz-'), 'fuzz.pcap');
  fuzzedFrames(file, count, 11);
  const s = await sensor(bed, [...captureArgs(bed), '--report-interval', '1s']);
  const p0 = await settled(s);
  const m0 = await s.metric('capture_malformed_total');
  const { sent, failed } = await replay(bed, file, pps);
  const p1 = await settled(s);
  await sleep(1500); // malformed is published with each 1 s report
  const malformed = (await s.metric('capture_malformed_total')) - m0;
  const errors = await s.metric('capture_batch_errors_total');
  const drops = await s.metric('capture_kernel_drops');
  const alive = s.proc.exitCode === null;
  const code = await s.stop();
  const got = p1 - p0;
  return {
    phase: 'f. fuzzed frames replayed live',
    held: 'no crash, no decode error; every frame counted (malformed or decoded)',
    figure:
      `${int(count)} frames at ${int(pps)} pps, ${int(sent)} sent (${int(failed)} refused by the sender's ` +
      `kernel): ${int(got)} counted = ${int(malformed)} malformed + ` +
      `${int(got - malformed)} decoded; ${int(errors)} decode errors, ${int(drops)} kernel drops; exit ${String(code)}`,
    // The link's own chatter (IPv6 router solicitations) may add a few frames.
    pass: alive && code === 0 && errors === 0 && got + drops >= sent && got <= sent + 50 && malformed > 0,
    command: '',
  };
}
