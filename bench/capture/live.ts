// bench/capture live: the highest SYN rate sent from the scanner namespace (tcpreplay, bounded in packets
// and time) that `tidewatch run --capture` takes with zero kernel drops, and the sensor's CPU seconds per
// million packets. Steps up the rate until drops appear or the sender cannot go faster.
// Usage (root): node dist/bench/capture/live.js [--rates 50000,100000,150000,200000,300000,top] [--lean]
// The sensor logs its totals every second (--flush 1s), so its CPU includes a daily CSV rewrite a second.
// By default the store and the dashboard's /metrics (on the sensor namespace's loopback) are on beside the
// detectors, as a deployed sensor runs; --lean turns both off. GeoIP is off in both (no per-SYN look-up).
// After the first step with drops the remaining rates are skipped, but `top` still runs: it is the
// sender's ceiling on this rig.
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ether, ipv4, LINUX_SYN_OPTIONS, pcapHeader, tcp } from '../../test/helpers/pcap-frames.js';
import { startSensor, tempDir } from '../../test/helpers/sensor.js';
import { createTestbed } from '../../test/helpers/testbed.js';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '50000,100000,150000,200000,300000,top' },
    lean: { type: 'boolean', default: false },
  },
});
const FRAMES = 50_000;

/** SYNs from many sources to addresses the sensor does not own (its kernel drops them without a reply). */
function writeSyns(file: string): void {
  const fd = openSync(file, 'w');
  writeSync(fd, pcapHeader());
  for (let i = 0; i < FRAMES; i++) {
    const seg = tcp({
      sport: 40000 + (i % 20000),
      dport: 1 + (i % 1024),
      flags: 0x02,
      options: LINUX_SYN_OPTIONS,
    });
    const src = `198.18.${128 + ((i >> 8) & 127)}.${i & 255}`;
    const f = ether(0x0800, ipv4({ src, dst: `198.19.0.${1 + (i % 250)}`, proto: 6, payload: seg }));
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    writeSync(fd, Buffer.concat([r, f]));
  }
  closeSync(fd);
}

/** user+system CPU seconds of a process (from /proc, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const dir = tempDir('tw-bench-live-');
const file = join(dir, 'syn.pcap');
writeSyns(file);
const bed = await createTestbed();
try {
  const sensor = await startSensor(bed, [
    ...['--capture', bed.sensorIf, '--listen', 'off', '--geoip', 'off'],
    ...(values.lean
      ? ['--http', 'off', '--store', 'off']
      : ['--http', '127.0.0.1:8339', '--store', 'sqlite']),
    ...['--flush', '1s', '--report-interval', '600s', '--log-level', 'info'],
  ]);
  await sensor.waitForLog(/capture started/);
  const pid = sensor.proc.pid!;
  /** The sensor's running totals, from its once-a-second log line. */
  // Settled when two NEW log lines (written after the call) agree: a stale line from a sensor still busy
  // with the backlog must not pass for the final count.
  const totals = async (): Promise<{ packets: number; drops: number }> => {
    const read = (line: string) => {
      const j = JSON.parse(line) as { packets: number; kernel_drops: number };
      return { packets: j.packets, drops: j.kernel_drops };
    };
    const lines = () => sensor.logs.filter((l) => l.includes('capture totals'));
    let seen = lines().length;
    let last = { packets: -1, drops: -1 };
    for (let i = 0; i < 120; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const all = lines();
      if (all.length === seen) continue;
      seen = all.length;
      const now = read(all[all.length - 1]!);
      if (now.packets === last.packets) return now;
      last = now;
    }
    return last;
  };
  process.stdout.write(
    `target pps   sent pps   packets   received   kernel drops   sensor cpu s   cpu s per M pkts\n`,
  );
  let dropped = false;
  for (const rate of values.rates.split(',')) {
    if (dropped && rate !== 'top') continue;
    const target = rate === 'top' ? 0 : Number(rate);
    // Bounded: at most ~3 s at the target rate, at most 1.5 M packets.
    const loops = Math.max(1, Math.min(30, Math.ceil(((target || 500_000) * 3) / FRAMES)));
    const before = await totals();
    const cpu0 = cpuSeconds(pid);
    const r = await bed.exec(
      bed.scannerNs,
      'tcpreplay',
      [
        '-K',
        `--loop=${loops}`,
        ...(target ? [`--pps=${target}`] : ['--topspeed']),
        '-i',
        bed.scannerIf,
        file,
      ],
      { timeoutMs: 120_000 },
    );
    if (r.code !== 0) throw new Error(`tcpreplay: ${r.stderr}`);
    // CPU of the replay itself (plus the ring's last block): not of the idle waits for the totals.
    await new Promise((res) => setTimeout(res, 300));
    const cpu = cpuSeconds(pid) - cpu0;
    const after = await totals();
    const sent = Number(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(r.stdout)?.[1] ?? NaN);
    const n = loops * FRAMES;
    if (after.packets < 0 || before.packets < 0) {
      // No two totals lines agreed within 30 s: the sensor was still working through a backlog.
      process.stdout.write(
        `${String(target || 'top').padStart(10)} ${sent.toFixed(0).padStart(10)} ${String(n).padStart(9)}   behind: no settled total within 30 s\n`,
      );
      dropped = true;
      continue;
    }
    const got = after.packets - before.packets;
    const drops = after.drops - before.drops;
    process.stdout.write(
      `${(rate === 'top' ? 'top' : String(target)).padStart(10)} ${sent.toFixed(0).padStart(10)} ${String(n).padStart(9)} ` +
        `${String(got).padStart(10)} ${String(drops).padStart(14)} ${cpu.toFixed(2).padStart(14)} ` +
        `${((cpu / got) * 1e6).toFixed(2).padStart(18)}\n`,
    );
    if (drops > 0) dropped = true;
  }
  if (!values.lean) {
    // The metrics endpoint was served throughout; one scrape at the end says what it answered.
    const m = await bed.exec(
      bed.sensorNs,
      'curl',
      ['-s', '-w', '\\nHTTP %{http_code}', 'http://127.0.0.1:8339/metrics'],
      {
        timeoutMs: 10_000,
      },
    );
    const line = m.stdout.split('\n').find((l) => /packets_total\{proto="tcp"\}/.test(l));
    process.stdout.write(`/metrics: ${m.stdout.split('\n').pop()} ${line ?? '(no tcp packets line)'}\n`);
  }
  await sensor.stop();
} finally {
  await bed.destroy();
  rmSync(dir, { recursive: true, force: true });
}
