// bench/capture: packets per second reading a generated capture of >= 5 million mixed packets with
//   1. pcount      a minimal C libpcap loop decoding the same headers and counting per port (the reference)
//   2. tcpdump     tcpdump -r FILE -w /dev/null
//   3. ts-count    the TypeScript path: addon batches -> decoders -> counters (same work as pcount)
//   4. analyze     tidewatch analyze FILE --json > /dev/null (adds the per-source daily table and JSON)
// all measured in the same run, alternating, medians of --runs; ratios against pcount. Wall and CPU time.
// Usage: node dist/bench/capture/run.js [--packets 5000000] [--runs 5] [--file PATH] [--live]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeCapture } from '../../test/helpers/pcap-gen.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '5000000' },
    runs: { type: 'string', default: '5' },
    file: { type: 'string', default: '/tmp/tidewatch-bench-capture.pcap' },
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
const samples = new Map<string, Sample[]>(tools.map(([n]) => [n, []]));
for (let r = 0; r < RUNS; r++) {
  for (const [name, cmd, args] of tools) {
    // GNU time reports the child's own CPU seconds: the machine is shared, wall time alone is noisy.
    const res = spawnSync('/usr/bin/time', ['-f', 'TW_TIME %e %U %S', cmd, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    const m = /TW_TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(res.stderr);
    if (res.status !== 0 || !m) throw new Error(`${name} failed: ${res.stderr.slice(-500)}`);
    samples.get(name)!.push({ wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) });
  }
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ref = samples.get(tools[0]![0])!;
const refWall = median(ref.map((s) => s.wall));
const refCpu = median(ref.map((s) => s.cpu));
const mpps = (sec: number): string => (N / sec / 1e6).toFixed(2);
process.stdout.write(
  `\n${N.toLocaleString('en-US')} packets, ${RUNS} runs, medians (node ${process.version})\n` +
    `${'reader'.padEnd(28)} ${'wall s'.padStart(7)} ${'Mpps'.padStart(6)} ${'vs C'.padStart(6)}   ` +
    `${'cpu s'.padStart(7)} ${'Mpps/cpu'.padStart(8)} ${'vs C'.padStart(6)}\n`,
);
for (const [name] of tools) {
  const s = samples.get(name)!;
  const w = median(s.map((x) => x.wall));
  const c = median(s.map((x) => x.cpu));
  process.stdout.write(
    `${name.padEnd(28)} ${w.toFixed(2).padStart(7)} ${mpps(w).padStart(6)} ${((refWall / w) * 100).toFixed(0).padStart(5)}%   ` +
      `${c.toFixed(2).padStart(7)} ${mpps(c).padStart(8)} ${((refCpu / c) * 100).toFixed(0).padStart(5)}%\n`,
  );
}
