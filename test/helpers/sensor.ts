// Runs the real tidewatch CLI (dist/src/cli/main.js) inside a test namespace and reads what it wrote.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Testbed } from './testbed.js';

export const REPO = resolve(import.meta.dirname, '../../..');
export const CLI = join(REPO, 'dist/src/cli/main.js');

export interface RunningSensor {
  proc: ChildProcess;
  dataDir: string;
  /** stderr lines so far (pino JSON). */
  logs: string[];
  /** Resolves when a log line matches; rejects on timeout or exit. */
  waitForLog(
    match: RegExp | ((line: Record<string, unknown>) => boolean),
    timeoutMs?: number,
  ): Promise<string>;
  /** Sends a signal (default SIGTERM) and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string | null>;
  exited: Promise<number | string | null>;
}

const tempDirs: string[] = [];
// Each test file runs in a process of its own: its scratch dirs go when it exits, pass or fail.
process.once('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'tw-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Starts `tidewatch run` in the sensor namespace; resolves once it logged "sensor ready". */
export async function startSensor(
  bed: Testbed,
  args: string[],
  opts: { dataDir?: string; readyTimeoutMs?: number; env?: NodeJS.ProcessEnv; wrap?: string[] } = {},
): Promise<RunningSensor> {
  const dataDir = opts.dataDir ?? tempDir();
  // `wrap`: a command that execs node in place (setpriv ...), so the pid is still the sensor's.
  const [cmd = process.execPath, ...pre] = [...(opts.wrap ?? []), process.execPath];
  const proc = bed.spawn(
    bed.sensorNs,
    cmd,
    [...pre, CLI, 'run', '--data-dir', dataDir, '--sensor', 'test', '--log-level', 'debug', ...args],
    { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      logs.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of waiters) w();
  });
  proc.stdout!.on('data', () => {});
  const exited = new Promise<number | string | null>((res) =>
    proc.on('exit', (code, sig) => res(code ?? sig)),
  );
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const w of waiters) w();
  });

  const waitForLog: RunningSensor['waitForLog'] = (match, timeoutMs = 20_000) =>
    new Promise((resolveWait, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < logs.length; seen++) {
          const line = logs[seen]!;
          let ok = false;
          if (match instanceof RegExp) ok = match.test(line);
          else {
            try {
              ok = match(JSON.parse(line) as Record<string, unknown>);
            } catch {
              ok = false;
            }
          }
          if (ok) {
            done();
            return resolveWait(line);
          }
        }
        if (hasExited) {
          done();
          reject(new Error(`sensor exited before ${String(match)}; log:\n${logs.slice(-20).join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout waiting for ${String(match)}; log:\n${logs.slice(-20).join('\n')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const sensor: RunningSensor = {
    proc,
    dataDir,
    logs,
    waitForLog,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (!hasExited && proc.pid) {
        // ip netns exec execs node in place, so the pid is the sensor itself.
        process.kill(proc.pid, signal);
      }
      const timer = setTimeout(() => proc.pid && process.kill(proc.pid, 'SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  await waitForLog(/"msg":"sensor ready"/, opts.readyTimeoutMs ?? 30_000);
  return sensor;
}

/** All JSON lines of every .jsonl file below dir (sorted by file name). */
export function readJsonLines<T = Record<string, unknown>>(dir: string): T[] {
  if (!existsSync(dir)) return [];
  const out: T[] = [];
  for (const name of readdirSync(dir, { recursive: true }).map(String).sort()) {
    if (!name.endsWith('.jsonl')) continue;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n'))
      if (line.trim()) out.push(JSON.parse(line) as T);
  }
  return out;
}

/** Polls until fn returns a truthy value or the timeout passes. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, stepMs));
  } while (Date.now() < deadline);
  return last;
}
