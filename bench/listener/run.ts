// Listener benchmark. (1) Connections per second that `tidewatch run` accepts, reads (a 100-byte payload)
// and writes to its sessions JSON lines, beside a minimal C epoll accept-read-close server measured in the
// same run, over loopback in a fresh network namespace per run, driven by a bounded C load client.
// (2) Resident memory per idle held connection: 10,000 connections that send nothing, held open.
// (3) With --responders: the same rate and CPU per connection with --respond off, --respond on (plain
// client-first sessions: the persona decision only), and --respond on where the port's persona speaks first
// (FTP banner at accept), in the same run.
// Usage: node dist/bench/listener/run.js [--count 30000] [--inflight 64] [--runs 5] [--idle 10000] [--responders]
// Needs root (namespaces) and gcc.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, REPO } from '../../test/helpers/sensor.js';
import { createTestbed, type Testbed } from '../../test/helpers/testbed.js';

const { values: argv } = parseArgs({
  options: {
    count: { type: 'string', default: '30000' },
    inflight: { type: 'string', default: '64' },
    runs: { type: 'string', default: '5' },
    idle: { type: 'string', default: '10000' },
    responders: { type: 'boolean', default: false },
    // Writes a V8 CPU profile of every tidewatch run into this directory (see bench/listener/profile.ts).
    profile: { type: 'string', default: '' },
  },
});
const COUNT = Math.min(Number(argv.count), 200_000);
const INFLIGHT = Math.min(Number(argv.inflight), 1000);
const RUNS = Math.min(Number(argv.runs), 20);
const IDLE = Math.min(Number(argv.idle), 15_000); // 0: no idle-connection runs
const PROFILE = argv.profile ? resolve(argv.profile) : '';
const PORT = 20000;
const PAYLOAD = 100;

const dir = mkdtempSync(join(tmpdir(), 'tw-bench-listener-'));
const load = join(dir, 'load');
const cserver = join(dir, 'epoll-server');
execFileSync('gcc', ['-O2', '-o', load, join(REPO, 'bench/listener/load.c')]);
execFileSync('gcc', ['-O2', '-o', cserver, join(REPO, 'bench/listener/epoll-server.c')]);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a process in the namespace and resolves once its output matches `ready`. */
function spawnReady(
  bed: Testbed,
  cmd: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  const p = bed.spawn(bed.sensorNs, cmd, args, { env: { ...process.env, ...env } });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve(p);
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.on('exit', (c) => reject(new Error(`${cmd} exited ${c}: ${out.slice(-2000)}`)));
  });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.on('exit', r));
  p.kill('SIGTERM');
  await done;
}

function sensorArgs(dataDir: string, extra: string[] = []): string[] {
  return [
    CLI,
    'run',
    '--data-dir',
    dataDir,
    '--sensor',
    'bench',
    '--log-level',
    'info',
    '--http',
    'off',
    '--store',
    'off',
    '--geoip',
    'off',
    '--tcp-ports',
    String(PORT),
    '--udp-ports',
    '',
    ...extra,
  ];
}

function countLines(dataDir: string): number {
  const d = join(dataDir, 'sessions');
  let n = 0;
  for (const f of readdirSync(d)) n += readFileSync(join(d, f), 'utf8').split('\n').filter(Boolean).length;
  return n;
}

interface Rate {
  rate: number;
  done: number;
  errors: number;
  written?: number;
  /** Server CPU (user + system) per completed connection, µs: steadier than the rate on a shared machine. */
  cpuUs?: number;
}

/** CPU seconds (user + system) a process used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rateRun(
  kind: 'c' | 'node',
  extra: string[] = [],
  loadMode: 'text' | 'http' = 'text',
): Promise<Rate> {
  const bed = await createTestbed();
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-bench-data-'));
  try {
    await bed.exec(bed.sensorNs, 'sysctl', ['-w', 'net.ipv4.ip_local_port_range=1024 65000']);
    const server =
      kind === 'c'
        ? await spawnReady(bed, cserver, [String(PORT)], /ready/)
        : await spawnReady(
            bed,
            process.execPath,
            [...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : []), ...sensorArgs(dataDir, extra)],
            /sensor ready/,
          );
    const cpu0 = cpuSeconds(server.pid!);
    const r = await bed.exec(
      bed.sensorNs,
      load,
      [
        ...['127.0.0.1', String(PORT), String(COUNT), String(INFLIGHT), String(PAYLOAD), '60'],
        ...(loadMode === 'http' ? ['http'] : []),
      ],
      { timeoutMs: 90_000 },
    );
    const res = JSON.parse(r.stdout) as Rate;
    res.cpuUs = ((cpuSeconds(server.pid!) - cpu0) * 1e6) / Math.max(1, res.done);
    await stop(server);
    if (kind === 'node') res.written = countLines(dataDir);
    return res;
  } finally {
    await bed.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function rssKiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const v = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rss: v('VmRSS'), hwm: v('VmHWM') };
}

type IdleKind = 'c' | 'node' | 'node-young-1m' | 'node-bare';

/** The floor for any Node.js server: net.Server holding sockets with four no-op handlers, nothing else. */
const BARE = `require('net').createServer((s)=>{for(const e of ['data','end','error','close'])s.on(e,()=>{})})
  .listen(${PORT},()=>console.log('ready'))`;

async function idleRun(
  kind: IdleKind,
): Promise<{ before: number; after: number; hwm: number; held: number }> {
  const bed = await createTestbed();
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-bench-data-'));
  try {
    const server =
      kind === 'c'
        ? await spawnReady(bed, cserver, [String(PORT)], /ready/)
        : kind === 'node-bare'
          ? await spawnReady(bed, process.execPath, ['-e', BARE], /ready/)
          : await spawnReady(
              bed,
              process.execPath,
              sensorArgs(dataDir, ['--idle-timeout', '1h', '--max-session', '1h', '--max-sessions', '20000']),
              /sensor ready/,
              // V8 grows its young generation (up to 2 x 16 MiB) under the accept burst and keeps it: this
              // variant caps it to tell garbage room from what each connection retains.
              kind === 'node-young-1m' ? { NODE_OPTIONS: '--max-semi-space-size=1' } : {},
            );
    await sleep(1000);
    const before = rssKiB(server.pid!).rss;
    const client = bed.spawn(bed.sensorNs, load, [
      '127.0.0.1',
      String(PORT),
      String(IDLE),
      '256',
      '0',
      '60',
      'hold',
    ]);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      client.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"held"')) resolve();
      });
      client.on('exit', (c) => reject(new Error(`load exited ${c}`)));
    });
    const held = (JSON.parse(out) as { held: number }).held;
    // Wait until the server has accepted them all (its descriptor count stops growing), then let it settle.
    let last = -1;
    for (let i = 0; i < 100; i++) {
      const n = readdirSync(`/proc/${server.pid}/fd`).length;
      if (n === last) break;
      last = n;
      await sleep(200);
    }
    await sleep(2000);
    const { rss: after, hwm } = rssKiB(server.pid!);
    client.stdin!.end();
    client.kill('SIGTERM');
    await stop(server);
    return { before, after, hwm, held };
  } finally {
    await bed.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (argv.responders) {
  const personas = join(dir, 'personas.toml');
  writeFileSync(personas, `[ports.${PORT}]\npersona = "ftp"\n`);
  const modes: [string, string[], ('text' | 'http')?][] = [
    ['--respond off', ['--respond', 'off']],
    ['--respond on, client-first', ['--respond', 'on']],
    ['--respond on, banner port (FTP)', ['--respond', 'on', '--personas', personas]],
    ['--respond off, HTTP GET', ['--respond', 'off'], 'http'],
    ['--respond on, HTTP persona', ['--respond', 'on'], 'http'],
  ];
  const res = new Map<string, Rate[]>(modes.map(([m]) => [m, []]));
  for (let i = 0; i < RUNS; i++)
    for (const [m, extra, loadMode] of modes) {
      const r = await rateRun('node', extra, loadMode);
      res.get(m)!.push(r);
      console.log(
        `run ${i + 1} ${m}: ${r.rate} conn/s, ${r.cpuUs!.toFixed(1)} µs CPU/conn (${r.errors} errors)`,
      );
    }
  const off = median(res.get(modes[0]![0])!.map((r) => r.rate));
  const offCpu = median(res.get(modes[0]![0])!.map((r) => r.cpuUs!));
  for (const [m] of modes) {
    const rs = res.get(m)!;
    const rate = median(rs.map((r) => r.rate));
    const cpu = median(rs.map((r) => r.cpuUs!));
    console.log(
      `${m}: median ${rate} conn/s (${(rate / off).toFixed(2)} of --respond off), ` +
        `${cpu.toFixed(1)} µs CPU/conn (capacity ${(offCpu / cpu).toFixed(2)} of --respond off); ` +
        `runs where JSON lines written != connections completed: ${rs.filter((r) => r.written !== r.done).length}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const rates: Record<'c' | 'node', Rate[]> = { c: [], node: [] };
for (let i = 0; i < RUNS; i++)
  for (const kind of ['c', 'node'] as const) {
    const r = await rateRun(kind);
    rates[kind].push(r);
    console.log(
      `run ${i + 1} ${kind === 'c' ? 'C epoll' : 'tidewatch'}: ${r.rate} conn/s, ${r.cpuUs!.toFixed(1)} µs CPU/conn ` +
        `(${r.done} done, ${r.errors} errors` +
        (r.written !== undefined ? `, ${r.written} JSON lines written` : '') +
        ')',
    );
  }
const cMed = median(rates.c.map((r) => r.rate));
const nMed = median(rates.node.map((r) => r.rate));
console.log(
  `\nconnections/s, median of ${RUNS}: tidewatch ${nMed} (${Math.min(...rates.node.map((r) => r.rate))}–` +
    `${Math.max(...rates.node.map((r) => r.rate))}), C epoll ${cMed} (${Math.min(...rates.c.map((r) => r.rate))}–` +
    `${Math.max(...rates.c.map((r) => r.rate))}); ratio ${(nMed / cMed).toFixed(2)} (target >= 0.50)`,
);
const cCpu = median(rates.c.map((r) => r.cpuUs!));
const nCpu = median(rates.node.map((r) => r.cpuUs!));
console.log(
  `server CPU per connection, median: tidewatch ${nCpu.toFixed(1)} µs, C epoll ${cCpu.toFixed(1)} µs; ` +
    `capacity ratio on a free core ${(cCpu / nCpu).toFixed(2)}`,
);
const lost = rates.node.filter((r) => r.written !== r.done).length;
console.log(`runs where JSON lines written != connections completed: ${lost}`);

const names: Record<IdleKind, string> = {
  c: 'C epoll',
  node: 'tidewatch',
  'node-young-1m': 'tidewatch, NODE_OPTIONS=--max-semi-space-size=1',
  'node-bare': 'bare node:net server (reference)',
};
for (const kind of IDLE > 0 ? (['node', 'node-young-1m', 'node-bare', 'c'] as const) : []) {
  const m = await idleRun(kind);
  const per = ((m.after - m.before) * 1024) / m.held;
  console.log(
    `${names[kind]}: ${m.held} idle connections held: RSS ${m.before} KiB → ${m.after} KiB ` +
      `(peak ${m.hwm} KiB), ${per.toFixed(0)} B per connection` +
      (kind === 'node' || kind === 'node-young-1m' ? ` (target < 2048 B)` : ''),
  );
}
rmSync(dir, { recursive: true, force: true });
