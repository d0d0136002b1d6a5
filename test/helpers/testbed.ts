// Network-namespace test bed (DESIGN §7): a sensor host and a scanner host joined by a veth pair.
// Names are unique per run; namespaces, veths and the processes started in them are always removed:
// by destroy(), and also at exit, on SIGINT/SIGTERM and on uncaught errors of the test process.
import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One file per live test bed: "<owner pid> <namespaces...>", so beds of a killed test can be reaped. */
const REGISTRY = '/run/tidewatch-testbed';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the namespaces of test beds whose owning process is gone (a test killed with SIGKILL, e.g. by a
 * runner timeout, cannot clean up after itself). Beds of live processes are left alone.
 */
export function reapStaleTestbeds(): string[] {
  const reaped: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(REGISTRY);
  } catch {
    return reaped;
  }
  for (const name of names) {
    const file = join(REGISTRY, name);
    let owner = 0;
    let namespaces: string[] = [];
    try {
      const [pidText = '', ...rest] = readFileSync(file, 'utf8').trim().split(/\s+/);
      owner = Number(pidText);
      namespaces = rest;
    } catch {
      continue;
    }
    if (owner > 0 && alive(owner)) continue;
    for (const ns of namespaces.filter((n) => /^tw[0-9a-f]{6}[sc]$/.test(n))) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        reaped.push(ns);
      } catch {
        /* already gone */
      }
    }
    rmSync(file, { force: true });
  }
  return reaped;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Testbed {
  readonly id: string;
  readonly sensorNs: string;
  readonly scannerNs: string;
  readonly sensorIf: string;
  readonly scannerIf: string;
  readonly sensorIp: string;
  readonly scannerIp: string;
  readonly sensorIp6: string;
  readonly scannerIp6: string;
  readonly sensorMac: string;
  readonly scannerMac: string;
  /** Runs a command inside a namespace and collects its output (bounded by timeoutMs, default 60 s). */
  exec(
    ns: string,
    cmd: string,
    args: string[],
    opts?: { input?: string | Buffer; timeoutMs?: number },
  ): Promise<ExecResult>;
  /** Starts a long-running process inside a namespace; it is killed by destroy() if still running. */
  spawn(ns: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Kills what was spawned, deletes both namespaces. Idempotent. */
  destroy(): Promise<void>;
}

const live = new Set<{ ns: string[]; procs: Set<ChildProcess> }>();

function cleanupSync(entry: { ns: string[]; procs: Set<ChildProcess> }): void {
  for (const p of entry.procs) if (p.exitCode === null && p.pid) killTree(p.pid, 'SIGKILL');
  for (const ns of entry.ns) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  rmSync(join(REGISTRY, entry.ns[0]!.slice(0, -1)), { force: true });
  live.delete(entry);
}

/** Kills a process we started and its children (ip netns exec → node …): by pid, never by name. */
export function killTree(pid: number, signal: NodeJS.Signals): void {
  try {
    const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
    for (const child of out
      .split('\n')
      .map(Number)
      .filter((n) => n > 0))
      killTree(child, signal);
  } catch {
    /* no children */
  }
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

let hooked = false;
function hookProcessExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => [...live].forEach(cleanupSync));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      [...live].forEach(cleanupSync);
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    [...live].forEach(cleanupSync);
    console.error(err);
    process.exit(1);
  });
}

function ipSync(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Creates the two namespaces: sensor 198.18.0.1 / 2001:2::1, scanner 198.18.0.2 / 2001:2::2,
 * with fixed MACs (02:00:00:00:00:01 sensor, :02 scanner) so masscan/zmap can be given --router-mac.
 */
export async function createTestbed(): Promise<Testbed> {
  hookProcessExit();
  const id = randomBytes(3).toString('hex');
  const sensorNs = `tw${id}s`;
  const scannerNs = `tw${id}c`;
  const sensorIf = `tw${id}s0`;
  const scannerIf = `tw${id}c0`;
  const entry = { ns: [sensorNs, scannerNs], procs: new Set<ChildProcess>() };
  reapStaleTestbeds();
  mkdirSync(REGISTRY, { recursive: true });
  writeFileSync(join(REGISTRY, `tw${id}`), `${process.pid} ${sensorNs} ${scannerNs}\n`);
  live.add(entry);
  const bed = {
    id,
    sensorNs,
    scannerNs,
    sensorIf,
    scannerIf,
    sensorIp: '198.18.0.1',
    scannerIp: '198.18.0.2',
    sensorIp6: '2001:2::1',
    scannerIp6: '2001:2::2',
    sensorMac: '02:00:00:00:00:01',
    scannerMac: '02:00:00:00:00:02',
  };
  try {
    ipSync(['netns', 'add', sensorNs]);
    ipSync(['netns', 'add', scannerNs]);
    ipSync([
      'link',
      'add',
      sensorIf,
      'netns',
      sensorNs,
      'type',
      'veth',
      'peer',
      'name',
      scannerIf,
      'netns',
      scannerNs,
    ]);
    for (const [ns, ifname, mac, ip4, ip6] of [
      [sensorNs, sensorIf, bed.sensorMac, bed.sensorIp, bed.sensorIp6],
      [scannerNs, scannerIf, bed.scannerMac, bed.scannerIp, bed.scannerIp6],
    ] as const) {
      ipSync(['-n', ns, 'link', 'set', ifname, 'address', mac]);
      ipSync(['-n', ns, 'addr', 'add', `${ip4}/24`, 'dev', ifname]);
      ipSync(['-n', ns, 'addr', 'add', `${ip6}/64`, 'dev', ifname, 'nodad']);
      ipSync(['-n', ns, 'link', 'set', 'lo', 'up']);
      ipSync(['-n', ns, 'link', 'set', ifname, 'up']);
    }
  } catch (err) {
    cleanupSync(entry);
    throw err;
  }

  const exec: Testbed['exec'] = (ns, cmd, args, opts = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      entry.procs.add(child);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => err.push(d));
      const timer = setTimeout(() => child.pid && killTree(child.pid, 'SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        entry.procs.delete(child);
        resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input ?? '');
    });

  let destroyed: Promise<void> | undefined;
  return {
    ...bed,
    exec,
    spawn(ns, cmd, args, opts = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', ...opts });
      entry.procs.add(child);
      child.on('exit', () => entry.procs.delete(child));
      return child;
    },
    destroy() {
      destroyed ??= (async () => {
        for (const p of entry.procs) if (p.exitCode === null && p.pid) killTree(p.pid, 'SIGTERM');
        const deadline = Date.now() + 3000;
        while (
          [...entry.procs].some((p) => p.exitCode === null && p.signalCode === null) &&
          Date.now() < deadline
        )
          await new Promise((r) => setTimeout(r, 50));
        cleanupSync(entry);
      })();
      return destroyed;
    },
  };
}

/** Runs fn with a fresh test bed and destroys the bed afterwards, also when fn throws. */
export async function withTestbed<T>(fn: (bed: Testbed) => Promise<T>): Promise<T> {
  const bed = await createTestbed();
  try {
    return await fn(bed);
  } finally {
    await bed.destroy();
  }
}
