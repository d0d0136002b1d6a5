// Idle footprint of the default sensor: resident memory after it has sat idle, and the time (wall and CPU)
// from spawning it to its "sensor ready" line, for `tidewatch run` with the defaults (GeoIP on, store,
// dashboard, every default port) started with the node flags `npm start` uses, beside, in the same run and
// alternating: the same with --geoip off, the same with plain `node` (no flags), and a bare `node` that
// only idles (the floor). Each in the sensor namespace of a fresh test bed, on a data dir made by a first
// (unmeasured) start, so TLS certificates and SSH host keys are not generated in the measured runs.
// Usage: node dist/bench/idle/run.js [--runs 5] [--idle-ms 5000]     Needs root (namespaces).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { CLI, REPO } from '../../test/helpers/sensor.js';
import { createTestbed, type Testbed } from '../../test/helpers/testbed.js';

const { values: argv } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, 'idle-ms': { type: 'string', default: '5000' } },
});
const RUNS = Math.max(1, Math.min(Number(argv.runs), 20));
const IDLE_MS = Math.max(1000, Math.min(Number(argv['idle-ms']), 60_000));
const READY_TIMEOUT_MS = 60_000;

/** The node flags of package.json's start script: the figures are those of `npm start`. */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const m = /\bnode ((?:--\S+ )*)dist\/src\/cli\/main\.js run/.exec(pkg.scripts.start);
  if (!m) throw new Error(`cannot read the node flags of the start script: ${pkg.scripts.start}`);
  return m[1]!.trim().split(' ').filter(Boolean);
}

interface Sample {
  readyMs: number;
  readyCpuMs: number;
  rssMiB: number;
  anonMiB: number;
  fileMiB: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function memMiB(pid: number): { rss: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.on('exit', r));
  p.kill('SIGTERM');
  await done;
}

/** Spawns node in the namespace: time to its "sensor ready" line, then its memory after IDLE_MS. */
async function measure(bed: Testbed, nodeArgs: string[]): Promise<Sample> {
  const started = process.hrtime.bigint();
  const p = bed.spawn(bed.sensorNs, process.execPath, nodeArgs);
  try {
    let out = '';
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready: ${out.slice(-2000)}`)), READY_TIMEOUT_MS);
      const onData = (d: Buffer) => {
        out = (out + d.toString()).slice(-20_000);
        if (!out.includes('sensor ready')) return;
        clearTimeout(timer);
        resolve(Number(process.hrtime.bigint() - started) / 1e6);
      };
      p.stderr!.on('data', onData);
      p.stdout!.on('data', () => {});
      p.on('exit', (c) => reject(new Error(`exited ${c}: ${out.slice(-2000)}`)));
    });
    const readyCpuMs = cpuMs(p.pid!);
    await sleep(IDLE_MS);
    const m = memMiB(p.pid!);
    return { readyMs, readyCpuMs, rssMiB: m.rss, anonMiB: m.anon, fileMiB: m.file };
  } finally {
    await stop(p);
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'tw-bench-idle-'));
const sensor = (flags: string[], extra: string[] = []): string[] => [
  ...flags,
  CLI,
  'run',
  '--data-dir',
  dataDir,
  ...extra,
];
const flags = startFlags();
const variants: [string, string[]][] = [
  ['bare node, idle (reference)', ['-e', "console.error('sensor ready'); setInterval(() => {}, 1000)"]],
  [`tidewatch run, npm start's flags (${flags.join(' ') || 'none'})`, sensor(flags)],
  ["tidewatch run --geoip off, npm start's flags", sensor(flags, ['--geoip', 'off'])],
  ['tidewatch run, plain node (no flags)', sensor([])],
];

const bed = await createTestbed();
const load0 = loadavg()[0]!;
const results = new Map<string, Sample[]>(variants.map(([name]) => [name, []]));
try {
  await measure(bed, sensor(flags)); // makes the TLS certificates, SSH host keys and store
  for (let r = 0; r < RUNS; r++)
    for (const [name, args] of variants) results.get(name)!.push(await measure(bed, args));
} finally {
  await bed.destroy();
  rmSync(dataDir, { recursive: true, force: true });
}

const fmt = (xs: number[], digits = 1) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
console.log(
  `idle footprint, medians of ${RUNS} alternating runs (range), idle ${IDLE_MS} ms; ` +
    `load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end (2 vCPU)`,
);
console.log('| process | RSS MiB | anon MiB | file MiB | spawn → ready ms | CPU to ready ms |');
console.log('|---|---|---|---|---|---|');
for (const [name, s] of results)
  console.log(
    `| ${name} | ${fmt(s.map((x) => x.rssMiB))} | ${fmt(s.map((x) => x.anonMiB))} | ` +
      `${fmt(s.map((x) => x.fileMiB))} | ${fmt(
        s.map((x) => x.readyMs),
        0,
      )} | ${fmt(
        s.map((x) => x.readyCpuMs),
        0,
      )} |`,
  );
const base = median(results.get(variants[0]![0])!.map((x) => x.rssMiB));
const tw = median(results.get(variants[1]![0])!.map((x) => x.rssMiB));
console.log(`tidewatch over bare node: ${(tw - base).toFixed(1)} MiB; ratio ${(tw / base).toFixed(2)}`);
