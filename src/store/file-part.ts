// One part of the data dir's quota made of files (sessions and events JSON lines, raw files, daily CSVs): it
// tracks the bytes of each unit (a file, or a day directory of raw files) as the writer reports them, learns
// what an earlier run left with one walk at start, and removes whole units, oldest first, for the quota
// (disk-quota.ts) and by age (retainMs).
import { opendir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { DiskPart, Tier } from './disk-quota.js';

const DAY = 86_400_000;

/**
 * The directory a strftime pattern's files live under (the part before the first conversion), when it is a
 * directory inside the data dir of its own; undefined otherwise (then only what this run writes is tracked).
 */
export function patternRoot(dataDir: string, pattern: string): string | undefined {
  const fixed = pattern.slice(0, pattern.indexOf('%') < 0 ? pattern.length : pattern.indexOf('%'));
  const root = dirname(resolve(dataDir, fixed + 'x'));
  const rel = relative(resolve(dataDir), root);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? root : undefined;
}

/** Retention of a tier in ms from the config's days. */
export const retainMs = (cfg: { retainDays: number; retainCounterDays: number }, tier: Tier): number =>
  (tier === 'data' ? cfg.retainDays : cfg.retainCounterDays) * DAY;

interface Unit {
  bytes: number;
  /** Last write (ms): a unit is as old as its newest data. */
  time: number;
}

export interface FilePartOptions {
  name: string;
  tier: Tier;
  /** Directory whose entries are the units (files, or directories with `dirUnits`); undefined: no walk. */
  root: string | undefined;
  /** Units are the directories under root (raw/YYYYMMDD) instead of the files. */
  dirUnits?: boolean;
  /** Age after which a unit is removed whatever the quota. */
  retainMs: number;
  /** Called after units were removed (a writer closes a file it still holds, forgets directories). */
  onRemoved?: () => void;
}

export class FilePart implements DiskPart {
  readonly name: string;
  private readonly units = new Map<string, Unit>();
  private total = 0;

  constructor(private readonly o: FilePartOptions) {
    this.name = o.name;
  }

  /** The unit a written path belongs to: the path itself, or its directory right under root. */
  private unitOf(path: string): string {
    if (!this.o.dirUnits || !this.o.root) return path;
    const rest = path.slice(this.o.root.length + 1);
    const slash = rest.indexOf('/');
    return join(this.o.root, slash < 0 ? rest : rest.slice(0, slash));
  }

  /** A writer appended `bytes` to `path` (absolute). */
  added(path: string, bytes: number, now = Date.now()): void {
    const key = this.unitOf(path);
    const u = this.units.get(key);
    if (u) {
      u.bytes += bytes;
      u.time = Math.max(u.time, now);
    } else this.units.set(key, { bytes, time: now });
    this.total += bytes;
  }

  /** A writer rewrote `path` (absolute) whole: it now holds `bytes`. */
  replaced(path: string, bytes: number, now = Date.now()): void {
    const u = this.units.get(path);
    this.total += bytes - (u?.bytes ?? 0);
    this.units.set(path, { bytes, time: now });
  }

  /** Learns the units an earlier run left (one walk at start; a missing root is empty). */
  async scan(): Promise<void> {
    if (!this.o.root) return;
    for await (const [path, size, mtime] of walk(this.o.root)) {
      const key = this.unitOf(path);
      const u = this.units.get(key);
      if (u) {
        u.bytes += size;
        u.time = Math.max(u.time, mtime);
      } else this.units.set(key, { bytes: size, time: mtime });
      this.total += size;
    }
  }

  bytes(): number {
    return this.total;
  }

  oldest(tier: Tier): number | undefined {
    if (tier !== this.o.tier) return undefined;
    let min: number | undefined;
    for (const u of this.units.values()) if (min === undefined || u.time < min) min = u.time;
    return min;
  }

  async prune(tier: Tier, before: number, enough: () => boolean): Promise<void> {
    if (tier !== this.o.tier) return;
    const due = [...this.units].filter(([, u]) => u.time < before).sort((a, b) => a[1].time - b[1].time);
    let removed = 0;
    for (const [key, u] of due) {
      if (enough()) break;
      await rm(key, { recursive: true, force: true });
      this.units.delete(key);
      this.total -= u.bytes;
      removed++;
    }
    if (removed) this.o.onRemoved?.();
  }

  /** Removes the units older than the part's retention. */
  expire(now: number): Promise<void> {
    return this.prune(this.o.tier, now - this.o.retainMs, () => false);
  }
}

/** Every file under dir with its size and mtime (streamed: no list of the whole tree is built). */
async function* walk(dir: string): AsyncGenerator<[string, number, number]> {
  let d;
  try {
    d = await opendir(dir);
  } catch {
    return;
  }
  for await (const e of d) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) {
      const s = await stat(p).catch(() => undefined);
      if (s) yield [p, s.size, s.mtimeMs];
    }
  }
}
