// The soak run: the sensor under the six loads of a hostile or unlucky day, each phase in test-bed namespaces
// of its own (always deleted), each bounded by a deadline, printing one table row per phase:
// phase | what was held | figure | pass/fail | command to reproduce. Figures go to docs/reliability.md.
// Usage (root): node dist/bench/soak/run.js [--quick] [--only a,b,c,d,e,f] [--collector-down-s 600]
//               [--spool-max 32MiB]
// Default: about 25 minutes (10 of them the collector down); --quick: a few minutes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { withTestbed, type Testbed } from '../../test/helpers/testbed.js';
import type { Row, SoakOptions } from './lib.js';
import { collectorDown, fuzzedReplay, spoofedSources } from './phases-capture.js';
import { connectionFlood, killMidFlood, payloadFlood } from './phases-listen.js';

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'a,b,c,d,e,f' },
    'collector-down-s': { type: 'string' },
    'spool-max': { type: 'string' },
  },
});
const quick = a.quick;
const downS = Number(a['collector-down-s'] ?? (quick ? 60 : 600));
if (!Number.isInteger(downS) || downS < 1 || downS > 3600) {
  console.error('tidewatch soak: --collector-down-s takes whole seconds from 1 to 3600 (default 600)');
  process.exit(2);
}
const opts: SoakOptions = {
  quick,
  collectorDownS: downS,
  spoolMax: a['spool-max'] ?? (quick ? '4MiB' : '32MiB'),
};

type Phase = (bed: Testbed, o: SoakOptions) => Promise<Row>;
/** Each phase with its deadline in seconds (default durations; --quick phases end well before). */
const PHASES: Record<string, [Phase, number]> = {
  a: [connectionFlood, 240],
  b: [spoofedSources, 420],
  c: [payloadFlood, 360],
  d: [collectorDown, downS + 360],
  e: [killMidFlood, 300],
  f: [fuzzedReplay, 240],
};
const only = a.only.split(',').map((s) => s.trim());
const unknown = only.filter((k) => !PHASES[k]);
if (unknown.length) {
  console.error(`tidewatch soak: no phase ${unknown.join(',')}: --only takes letters from a,b,c,d,e,f`);
  process.exit(2);
}

function reproduce(key: string): string {
  const flags = [`--only ${key}`, quick ? '--quick' : ''];
  if (key === 'd') flags.push(`--collector-down-s ${downS}`, `--spool-max ${opts.spoolMax}`);
  return `node dist/bench/soak/run.js ${flags.filter(Boolean).join(' ')}`;
}

/** Runs one phase in fresh namespaces; a throw or the deadline makes a failed row, never a stopped run. */
async function runPhase(key: string): Promise<Row> {
  const [phase, deadlineS] = PHASES[key]!;
  const t0 = Date.now();
  // Every file a phase writes (data dirs, pcaps, the collector's file) goes under one scratch dir, removed after.
  const scratch = mkdtempSync(join(tmpdir(), 'tw-soak-'));
  process.env.TMPDIR = scratch;
  let timer: NodeJS.Timeout | undefined;
  const row = await withTestbed((bed) =>
    Promise.race([
      phase(bed, opts),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`deadline of ${deadlineS} s passed`)), deadlineS * 1000);
      }),
    ]),
  ).catch((err: Error): Row => ({
    phase: key,
    held: '',
    figure: `FAILED: ${err.message}`,
    pass: false,
    command: '',
  }));
  clearTimeout(timer);
  delete process.env.TMPDIR;
  rmSync(scratch, { recursive: true, force: true });
  row.command = reproduce(key);
  const took = ((Date.now() - t0) / 1000).toFixed(0);
  process.stderr.write(`soak ${key}: ${row.pass ? 'pass' : 'FAIL'} in ${took} s: ${row.figure}\n`);
  return row;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const started = new Date();
const loadBefore = load();
const rows: Row[] = [];
for (const key of only) rows.push(await runPhase(key));
const minutes = (Date.now() - started.getTime()) / 60_000;
const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
console.log(
  `\nsoak ${quick ? '--quick ' : ''}${started.toISOString()}: ${minutes.toFixed(1)} min; node ${process.version}, ` +
    `kernel ${kernel}, ${cpus().length} CPUs; load average ${loadBefore} before, ${load()} after\n`,
);
console.log('| phase | what was held | figure | pass/fail | command |');
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.phase} | ${r.held} | ${r.figure} | ${r.pass ? 'pass' : 'FAIL'} | \`${r.command}\` |`);
process.exit(rows.every((r) => r.pass) ? 0 : 1);
