// bench/capture: packets per second reading a generated capture of 10 million mixed packets with
//   1. pcount      a minimal C libpcap loop decoding the same headers and counting per port (the reference)
//   2. tcpdump     tcpdump -r FILE -w /dev/null
//   3. ts-count    the TypeScript path: addon batches -> decoders -> counters (same work as pcount)
//   4. analyze     tidewatch analyze FILE --json > /dev/null (adds the per-source daily table and JSON)
// all measured in the same run, alternating, medians of --runs; ratios against pcount and tcpdump. Wall
// and CPU time. Then start-up: analyze of a 3,000-packet file beside `node -e 0`, same run. Checks that
// analyze and ts-count count exactly the generator's packets. The generated file is deleted at the end
// unless --keep (then it is reused while its sidecar says it has --packets packets).
// Usage: node dist/bench/capture/run.js [--packets 10000000] [--runs 5] [--file PATH] [--keep]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeCapture } from '../../test/helpers/pcap-gen.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '5' },
    file: { type: 'string', default: '/tmp/tidewatch-bench-capture.pcap' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.packets);
const RUNS = Number(values.runs);
const file = values.file;

// The capture: generated once, reused while its sidecar says it has N packets of this generator.
const side = file + '.json';
if (
  !existsSync(file) ||
  !existsSync(side) ||
  (JSON.parse(readFileSync(side, 'utf8')) as { n: number }).n !== N
) {
  process.stdout.write(`generating ${N} packets into ${file} ...\n`);
  const t = writeCapture(file, { count: N, seed: 1, daily: false });
  writeFileSync(side, JSON.stringify({ n: N, packets: t.packets, malformed: t.malformed }));
}
const pcount = join(root, 'dist/bench/capture/pcount');
execFileSync('cc', ['-O2', '-o', pcount, join(root, 'bench/capture/pcount.c'), '-lpcap']);
execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 }); // warm the page cache

const node = process.execPath;
const tools: [string, string, string[]][] = [
  ['pcount (C)', pcount, [file]],
  ['tcpdump -r -w /dev/null', 'tcpdump', ['-r', file, '-w', '/dev/null']],
  ['ts-count (TypeScript)', node, [join(root, 'dist/bench/capture/count.js'), file]],
  ['tidewatch analyze --json', node, [join(root, 'dist/src/cli/main.js'), 'analyze', file, '--json']],
];

interface Sample {
  wall: number;
  cpu: number;
}
const devNull = openSync('/dev/null', 'w');
/** One run under GNU time, which reports the child's own CPU seconds (wall time alone is noisy here). */
function timed(name: string, cmd: string, args: string[]): Sample {
  const res = spawnSync('/usr/bin/time', ['-f', 'TW_TIME %e %U %S', cmd, ...args], {
    stdio: ['ignore', devNull, 'pipe'],
    encoding: 'utf8',
  });
  const m = /TW_TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(res.stderr);
  if (res.status !== 0 || !m) throw new Error(`${name} failed: ${res.stderr.slice(-500)}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) };
}
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = load();
const samples = new Map<string, Sample[]>(tools.map(([n]) => [n, []]));
for (let r = 0; r < RUNS; r++)
  for (const [name, cmd, args] of tools) samples.get(name)!.push(timed(name, cmd, args));

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const medians = (name: string): Sample => {
  const s = samples.get(name)!;
  return { wall: median(s.map((x) => x.wall)), cpu: median(s.map((x) => x.cpu)) };
};
const ref = medians(tools[0]![0]);
const dump = medians(tools[1]![0]);
const mpps = (sec: number): string => (N / sec / 1e6).toFixed(2);
const pct = (a: number, b: number): string => `${((a / b) * 100).toFixed(0)}%`.padStart(6);
process.stdout.write(
  `\n${N.toLocaleString('en-US')} packets, ${RUNS} runs, medians (node ${process.version}; load ${loadBefore} -> ${load()})\n` +
    `${'reader'.padEnd(28)} ${'wall s'.padStart(7)} ${'Mpps'.padStart(6)} ${'vs C'.padStart(6)} ${'vs tcpd'.padStart(7)}   ` +
    `${'cpu s'.padStart(7)} ${'Mpps/cpu'.padStart(8)} ${'vs C'.padStart(6)} ${'vs tcpd'.padStart(7)}\n`,
);
for (const [name] of tools) {
  const { wall: w, cpu: c } = medians(name);
  process.stdout.write(
    `${name.padEnd(28)} ${w.toFixed(2).padStart(7)} ${mpps(w).padStart(6)} ${pct(ref.wall, w)} ${pct(dump.wall, w).padStart(7)}   ` +
      `${c.toFixed(2).padStart(7)} ${mpps(c).padStart(8)} ${pct(ref.cpu, c)} ${pct(dump.cpu, c).padStart(7)}\n`,
  );
}

// The bench's own check: analyze and ts-count counted exactly the generator's packets and malformed ones.
const truth = JSON.parse(readFileSync(side, 'utf8')) as { packets: number; malformed: number };
const counted = JSON.parse(
  execFileSync(node, [join(root, 'dist/bench/capture/count.js'), file], { encoding: 'utf8' }),
) as {
  packets: number;
  malformed: number;
};
const head = await analyzeHead(file);
for (const [who, got] of [
  ['ts-count', counted],
  ['analyze', head],
] as const)
  if (got.packets !== truth.packets || got.malformed !== truth.malformed)
    throw new Error(
      `${who} counted ${got.packets}/${got.malformed}, the generator wrote ${truth.packets}/${truth.malformed}`,
    );
process.stdout.write(
  `check: ts-count and analyze counted ${truth.packets} packets, ${truth.malformed} malformed: exact\n`,
);

// Start-up: the whole process on a 3,000-packet file, beside node doing nothing, alternating.
const small = file + '.small.pcap';
writeCapture(small, { count: 3000, seed: 2, daily: false });
const starts: Record<string, Sample[]> = { 'node -e 0': [], 'analyze --json (3,000 packets)': [] };
for (let r = 0; r < Math.max(RUNS, 9); r++) {
  starts['node -e 0']!.push(timed('node', node, ['-e', '0']));
  starts['analyze --json (3,000 packets)']!.push(
    timed('analyze', node, [join(root, 'dist/src/cli/main.js'), 'analyze', small, '--json']),
  );
}
rmSync(small, { force: true });
process.stdout.write(`\nstart-up, medians of ${starts['node -e 0']!.length} (load ${load()})\n`);
for (const [name, s] of Object.entries(starts))
  process.stdout.write(
    `${name.padEnd(32)} wall ${(median(s.map((x) => x.wall)) * 1000).toFixed(0).padStart(5)} ms   cpu ${(median(s.map((x) => x.cpu)) * 1000).toFixed(0).padStart(5)} ms\n`,
  );
closeSync(devNull);
if (!values.keep) {
  rmSync(file, { force: true });
  rmSync(side, { force: true });
}

/** The --json document's counters (everything before "daily"), then the child is stopped. */
function analyzeHead(path: string): Promise<{ packets: number; malformed: number }> {
  return new Promise((res, rej) => {
    const child = spawn(node, [join(root, 'dist/src/cli/main.js'), 'analyze', path, '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (b: Buffer) => {
      text += b.toString('latin1');
      const at = text.indexOf(',"daily":[');
      if (at < 0) return;
      child.kill();
      res(JSON.parse(text.slice(0, at) + '}') as { packets: number; malformed: number });
    });
    child.on('exit', () => rej(new Error('analyze ended before its "daily" rows')));
  });
}
