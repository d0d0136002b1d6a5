// Retention of the store, run periodically off the hot path: every delete touches at most `batch` rows and
// the loop yields to the event loop between batches, so capture and the API never stall behind it.
// Age: payloads and sessions (tier "data") after retainDays; scans, spikes, blocks, daily rows, per-country
// and per-ASN days, sources and counters (tier "counters") after retainCounterDays. The quota of the whole
// data dir (disk-quota.ts) prunes through oldest() and prune(), in the order of the steps below.
import { statSync } from 'node:fs';
import { setImmediate as yieldLoop } from 'node:timers/promises';

import type { Database, Statement } from 'better-sqlite3';

import type { Logger } from '../core/log.js';
import type { Stats } from '../core/stats.js';
import type { Tier } from './disk-quota.js';

const DAY = 86_400_000;
const MIN = 60_000;

export interface RetentionOptions {
  dataDir: string;
  retainDays: number;
  retainCounterDays: number;
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
  /** Deletes up to `batch` of the oldest rows before a cutoff in the table's time unit; returns changes. */
  del: Statement;
  /** Attacker data (retainDays) or counters (retainCounterDays): counters are the long view and go last. */
  tier: Tier;
  /** Milliseconds per unit of the table's time column. */
  unit: number;
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
  private readonly oldestOf: Record<Tier, Statement>;

  constructor(
    private readonly db: Database,
    dbFile: string,
    private readonly o: RetentionOptions,
  ) {
    this.batch = o.batch ?? 2000;
    this.now = o.now ?? Date.now;
    this.dbFiles = [dbFile, `${dbFile}-wal`, `${dbFile}-shm`];
    this.steps = pruneSteps(db);
    // The oldest time of each tier, in ms (the disk quota prunes the oldest day first across parts).
    this.oldestOf = {
      data: db.prepare(
        `SELECT min(t) AS t FROM (SELECT min(last_seen) AS t FROM payloads UNION ALL SELECT min(ts) FROM sessions)`,
      ),
      counters: db.prepare(
        `SELECT min(t) AS t FROM (SELECT min(last_seen) AS t FROM scans UNION ALL SELECT min(ts) FROM spikes
           UNION ALL SELECT min(ts) FROM blocks UNION ALL SELECT min(day) * ${DAY} FROM daily UNION ALL SELECT min(minute) * ${MIN}
           FROM counters_min UNION ALL SELECT min(hour) * ${60 * MIN} FROM counters_hour
           UNION ALL SELECT min(day) * ${DAY} FROM counters_day UNION ALL SELECT min(last_seen) FROM sources)`,
      ),
    };
  }

  /** Time (ms) of the oldest row of a tier, undefined when the tier is empty. */
  oldest(tier: Tier): number | undefined {
    const r = this.oldestOf[tier].get() as { t: number | null } | undefined;
    return r?.t ?? undefined;
  }

  /** Deletes rows of a tier older than `before` (ms), table by table in order, until `enough()`. */
  async prune(tier: Tier, before: number, enough: () => boolean): Promise<PruneReport> {
    const report: PruneReport = {};
    for (const s of this.steps) {
      if (s.tier !== tier) continue;
      if (enough()) break;
      await this.deleteAll(s, Math.floor(before / s.unit), report, enough);
    }
    return report;
  }

  /**
   * Bytes of the database on disk, what the disk quota counts: its pages (free pages already given back by
   * incremental vacuum do not count, though the main file shrinks only at the next checkpoint) and the WAL.
   */
  fileBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    let n = pages * size;
    for (const f of this.dbFiles.slice(1)) {
      try {
        n += statSync(f).size;
      } catch {
        // not there (no WAL yet)
      }
    }
    return n;
  }

  /** Writes the WAL back and truncates it, so the files shrink to what was kept. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
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
        // Give the pages this batch freed back to the file system (no-op without auto_vacuum).
        this.db.pragma('incremental_vacuum');
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
    const retainMs = { data: this.o.retainDays * DAY, counters: this.o.retainCounterDays * DAY };
    for (const s of this.steps)
      await this.deleteAll(s, Math.floor((now - retainMs[s.tier]) / s.unit), report);
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

/** The DELETE of each table, oldest rows first, in the order a prune runs them (attacker data first). */
function pruneSteps(db: Database): Step[] {
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
  const timeStep = (table: string, col: string, tier: Tier, unit = 1): Step => ({
    table,
    tier,
    unit,
    del: unit === 1 ? rowid(table, col) : counter(table, col),
  });
  const dayStep = (table: string, keys: string): Step => ({
    table,
    tier: 'counters',
    unit: DAY,
    del: db.prepare(
      `DELETE FROM ${table} WHERE (${keys}) IN (SELECT ${keys} FROM ${table} WHERE day < ? ORDER BY day LIMIT ?)`,
    ),
  });
  return [
    timeStep('payloads', 'last_seen', 'data'),
    timeStep('sessions', 'ts', 'data'),
    // session_tags: WITHOUT ROWID, deleted by its ts index like the daily rows by day.
    {
      table: 'session_tags',
      tier: 'data',
      unit: 1,
      del: db.prepare(
        `DELETE FROM session_tags WHERE (tag, ts, session_id) IN
           (SELECT tag, ts, session_id FROM session_tags WHERE ts < ? ORDER BY ts LIMIT ?)`,
      ),
    },
    timeStep('scans', 'last_seen', 'counters'),
    timeStep('campaigns', 'ts', 'counters'),
    timeStep('iocs', 'last_seen', 'counters'),
    timeStep('signatures', 'last_seen', 'counters'),
    timeStep('spikes', 'ts', 'counters'),
    timeStep('blocks', 'ts', 'counters'),
    dayStep('daily', 'day, src_ip, proto, dst_port, dst_ip'),
    dayStep('cc_day', 'day, cc'),
    dayStep('asn_day', 'day, asn'),
    timeStep('sources', 'last_seen', 'counters'),
    timeStep('counters_min', 'minute', 'counters', MIN),
    timeStep('counters_hour', 'hour', 'counters', 60 * MIN),
    timeStep('counters_day', 'day', 'counters', DAY),
  ];
}
