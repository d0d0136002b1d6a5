// Retention and quota of the store, run periodically off the hot path: every delete touches at most `batch`
// rows and the loop yields to the event loop between batches, so capture and the API never stall behind it.
// Age: sessions and payloads after retainDays; counters, daily rows, sources, scans, spikes and blocks after
// retainCounterDays. Quota: when the data dir holds more than maxDisk, the oldest rows go in this order:
// payloads, sessions, scans/spikes/blocks, daily rows, per-country days, sources, minute counters, hourly
// counters, daily counters (last).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';

import type { Database, Statement } from 'better-sqlite3';

import type { Logger } from '../core/log.js';
import type { Stats } from '../core/stats.js';

const DAY = 86_400_000;
const MIN = 60_000;
/** Files the quota walk looks at, at most (the data dir is ours; this bounds a walk gone wrong). */
const MAX_WALK_ENTRIES = 200_000;

export interface RetentionOptions {
  dataDir: string;
  retainDays: number;
  retainCounterDays: number;
  maxDisk: number;
  stats: Stats;
  log: Logger;
  batch?: number;
  now?: () => number;
  /** Called after rows of a table were deleted (the writer forgets cached payload ids). */
  onPruned?: (table: string) => void;
}

/** Rows pruned per table in one run; `reason` says what triggered it. */
export type PruneReport = Record<string, number>;

interface Step {
  table: string;
  /** Deletes up to `batch` of the oldest rows (before `cutoff` for age, any for quota); returns changes. */
  del: Statement;
  /** Cutoff for age pruning in the table's own time unit. */
  cutoff: (now: number) => number;
}

/** Sums the sizes of the files under dir (bounded walk). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let seen = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > MAX_WALK_ENTRIES) return;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile())
        total += await stat(p).then(
          (s) => s.size,
          () => 0,
        );
    }
  };
  await walk(dir);
  return total;
}

export class Retention {
  private readonly batch: number;
  private readonly now: () => number;
  private readonly steps: Step[];
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<PruneReport> | undefined;
  private stopped = false;
  private readonly dbFiles: string[];

  constructor(
    private readonly db: Database,
    dbFile: string,
    private readonly o: RetentionOptions,
  ) {
    this.batch = o.batch ?? 2000;
    this.now = o.now ?? Date.now;
    this.dbFiles = [dbFile, `${dbFile}-wal`, `${dbFile}-shm`];
    const rowid = (table: string, col: string): Statement =>
      db.prepare(
        `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${col} < ? ORDER BY ${col} LIMIT ?)`,
      );
    // WITHOUT ROWID tables: delete by their time column through its index, oldest first.
    const counter = (table: string, col: string): Statement =>
      db.prepare(
        `DELETE FROM ${table} WHERE (proto, port, ${col}) IN
           (SELECT proto, port, ${col} FROM ${table} WHERE ${col} < ? ORDER BY ${col} LIMIT ?)`,
      );
    const sessionsDays = o.retainDays * DAY;
    const countersDays = o.retainCounterDays * DAY;
    this.steps = [
      { table: 'payloads', del: rowid('payloads', 'last_seen'), cutoff: (n) => n - sessionsDays },
      { table: 'sessions', del: rowid('sessions', 'ts'), cutoff: (n) => n - sessionsDays },
      { table: 'scans', del: rowid('scans', 'last_seen'), cutoff: (n) => n - countersDays },
      { table: 'spikes', del: rowid('spikes', 'ts'), cutoff: (n) => n - countersDays },
      { table: 'blocks', del: rowid('blocks', 'ts'), cutoff: (n) => n - countersDays },
      {
        table: 'daily',
        del: db.prepare(
          `DELETE FROM daily WHERE (day, src_ip, proto, dst_port, dst_ip) IN (SELECT day, src_ip, proto, dst_port,
             dst_ip FROM daily WHERE day < ? ORDER BY day LIMIT ?)`,
        ),
        cutoff: (n) => Math.floor((n - countersDays) / DAY),
      },
      ...(['cc', 'asn'] as const).map((k) => ({
        table: `${k}_day`,
        del: db.prepare(
          `DELETE FROM ${k}_day WHERE (day, ${k}) IN (SELECT day, ${k} FROM ${k}_day WHERE day < ? ORDER BY day LIMIT ?)`,
        ),
        cutoff: (n: number) => Math.floor((n - countersDays) / DAY),
      })),
      { table: 'sources', del: rowid('sources', 'last_seen'), cutoff: (n) => n - countersDays },
      {
        table: 'counters_min',
        del: counter('counters_min', 'minute'),
        cutoff: (n) => Math.floor((n - countersDays) / MIN),
      },
      {
        table: 'counters_hour',
        del: counter('counters_hour', 'hour'),
        cutoff: (n) => Math.floor((n - countersDays) / (60 * MIN)),
      },
      {
        table: 'counters_day',
        del: counter('counters_day', 'day'),
        cutoff: (n) => Math.floor((n - countersDays) / DAY),
      },
    ];
  }

  /** Bytes the database really holds (free pages excluded: they are reused before the file grows). */
  storeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  }

  private async deleteAll(
    step: Step,
    cutoff: number,
    report: PruneReport,
    until?: () => boolean,
  ): Promise<void> {
    for (;;) {
      if (this.stopped || until?.()) return;
      const n = step.del.run(cutoff, this.batch).changes;
      if (n > 0) {
        report[step.table] = (report[step.table] ?? 0) + n;
        this.o.stats.inc(`store_pruned_${step.table}_total`, n);
        this.o.onPruned?.(step.table);
        // Give freed pages back to the file system a little at a time (no-op without auto_vacuum).
        this.db.pragma('incremental_vacuum(256)');
      }
      if (n < this.batch) return;
      await yieldLoop();
    }
  }

  /** One pass: age first, then the quota. Concurrent calls share the pass in progress. */
  runOnce(): Promise<PruneReport> {
    return (this.running ??= this.pass().finally(() => (this.running = undefined)));
  }

  private async pass(): Promise<PruneReport> {
    const report: PruneReport = {};
    const now = this.now();
    for (const s of this.steps) await this.deleteAll(s, s.cutoff(now), report);
    if (this.stopped) return report;
    // Quota over the whole data dir: files of other sinks count too, but only the store is pruned here.
    const dbOnDisk = (
      await Promise.all(
        this.dbFiles.map((f) =>
          stat(f).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      )
    ).reduce((a, b) => a + b, 0);
    const others = Math.max(0, (await dirBytes(this.o.dataDir)) - dbOnDisk);
    if (this.stopped) return report;
    const target = this.o.maxDisk - others;
    const over = (): boolean => this.storeBytes() > Math.max(0, target);
    if (over()) {
      // When other files alone exceed the quota, only the bulky attacker data goes: counters are the long view
      // and cost little; dropping them would not bring the dir under the quota anyway.
      const steps = target > 0 ? this.steps : this.steps.slice(0, 2);
      if (target <= 0)
        this.o.log.warn(
          { others, maxDisk: this.o.maxDisk },
          'files outside the store exceed the quota by themselves',
        );
      for (const s of steps) {
        if (!over()) break;
        await this.deleteAll(s, Number.MAX_SAFE_INTEGER, report, () => !over());
      }
      this.o.stats.inc('store_quota_runs_total');
    }
    const pruned = Object.values(report).reduce((a, b) => a + b, 0);
    if (pruned > 0) this.o.log.info({ pruned: report, storeBytes: this.storeBytes() }, 'store pruned');
    this.o.stats.set('store_bytes', this.storeBytes());
    return report;
  }

  start(intervalMs: number): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.runOnce().catch((err: unknown) => {
        this.o.stats.inc('store_prune_errors_total');
        this.o.log.error({ err }, 'store pruning failed');
      });
    };
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
    // A first pass soon after start: a sensor restarted after a long stop may hold much that is due.
    this.first = setTimeout(tick, Math.min(intervalMs, 5_000));
    this.first.unref();
  }

  /** Stops the timer and makes a pass in progress stop at its next batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.first) clearTimeout(this.first);
    await this.running?.catch(() => {});
  }
}
