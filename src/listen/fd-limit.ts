// The open-file limit that bounds listening sockets and sessions. Node has no setrlimit, so the soft limit
// is raised to the hard one with util-linux's prlimit (Node usually did it already at start).
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FdLimit {
  soft: number;
  hard: number;
}

/** Parses the "Max open files" line of /proc/<pid>/limits ("unlimited" → Infinity). */
export function parseLimits(text: string): FdLimit | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const n = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

export function readFdLimit(): FdLimit {
  try {
    return parseLimits(readFileSync('/proc/self/limits', 'utf8')) ?? { soft: 1024, hard: 1024 };
  } catch {
    return { soft: 1024, hard: 1024 };
  }
}

/** File descriptors this process holds now. */
export function fdsInUse(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 64;
  }
}

/** Raises the soft limit to the hard one; returns the limit in force afterwards. */
export async function raiseFdLimit(): Promise<FdLimit> {
  const before = readFdLimit();
  if (before.soft >= before.hard) return before;
  const hard = Number.isFinite(before.hard) ? String(before.hard) : 'unlimited';
  try {
    await run('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`], { timeout: 5000 });
  } catch {
    /* prlimit missing or refused: the caller reports the limit in force */
  }
  return readFdLimit();
}
