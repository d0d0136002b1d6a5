// The quota of the whole data dir (--max-disk) over every part that writes there: raw files, sessions and
// events JSON lines, the store, the spools, daily CSVs. Each part tracks its own bytes as it writes (no
// directory walk) and can say how old its oldest data is and prune what is older than a time. sensor.ts
// registers the parts in the documented order (docs/store.md).
// Once the parts hold more than HIGH of the quota, data is pruned until they hold LOW of it: attacker data
// first (tier "data"), then counters (tier "counters", the long view, last); within a tier a day at a time,
// the oldest day first across all parts, and within a day the parts in their registration order. Freed bytes
// are counted per part (disk_pruned_<part>_bytes_total).
import { setImmediate as yieldLoop } from 'node:timers/promises';

import { component, type Component } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Stats } from '../core/stats.js';

export type Tier = 'data' | 'counters';
const TIERS: readonly Tier[] = ['data', 'counters'];
const DAY = 86_400_000;
/** A pass starts above HIGH of the quota and prunes down to LOW: a flood between checks stays under it. */
export const QUOTA_HIGH = 0.9;
export const QUOTA_LOW = 0.8;
/** How often the tracked sizes are compared with the quota. */
export const QUOTA_CHECK_MS = 1_000;
/** How often parts remove what is past their retention. */
export const EXPIRE_MS = 60_000;
/** Rounds (days) of one pass at most: bounds a pass whatever a part reports. */
const MAX_ROUNDS = 100_000;

export interface DiskPart {
  /** Metrics name: disk_bytes_<name>, disk_pruned_<name>_bytes_total. */
  readonly name: string;
  /** Bytes it holds on disk, tracked as it writes. */
  bytes(): number;
  /** Time (ms) of its oldest data of the tier, undefined when it holds none it could prune. */
  oldest(tier: Tier): number | undefined;
  /** Removes its data of the tier older than `before` (ms), stopping early once `enough()`. */
  prune(tier: Tier, before: number, enough: () => boolean): Promise<void>;
  /** Learns what an earlier run left (once, at start). */
  scan?(): Promise<void>;
  /** Removes what is older than the part's retention (--retain-days, --retain-counter-days). */
  expire?(now: number): Promise<void>;
}

export interface DiskQuotaOptions {
  maxDisk: number;
  stats: Stats;
  log: Logger;
}

export class DiskQuota {
  private readonly parts: DiskPart[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private scanned: Promise<void> = Promise.resolve();

  constructor(private readonly o: DiskQuotaOptions) {}

  /** Registers a part; the registration order is the pruning order within a day. */
  add(part: DiskPart | undefined): void {
    if (part) this.parts.push(part);
  }

  total(): number {
    let n = 0;
    for (const p of this.parts) n += p.bytes();
    return n;
  }

  /** Starts a pass when the parts hold more than HIGH of the quota; resolves when it is done. */
  check(): Promise<void> {
    for (const p of this.parts) this.o.stats.set(`disk_bytes_${p.name}`, p.bytes());
    const total = this.total();
    this.o.stats.set('disk_bytes', total);
    if (this.running || this.stopped || total <= this.o.maxDisk * QUOTA_HIGH)
      return this.running ?? Promise.resolve();
    return (this.running = this.pass().finally(() => (this.running = undefined)));
  }

  private async pass(): Promise<void> {
    const enough = (): boolean => this.stopped || this.total() <= this.o.maxDisk * QUOTA_LOW;
    this.o.stats.inc('disk_quota_runs_total');
    const before = this.total();
    for (const tier of TIERS) {
      let last = -Infinity;
      for (let round = 0; round < MAX_ROUNDS && !enough(); round++) {
        const oldest = this.oldest(tier);
        // Nothing left in this tier, or nothing a part would prune moved: on to the next tier.
        if (oldest === undefined || oldest <= last) break;
        last = oldest;
        const cutoff = Math.floor(oldest / DAY) * DAY + DAY;
        for (const p of this.parts) {
          if (enough()) break;
          const had = p.bytes();
          await p.prune(tier, cutoff, enough);
          const freed = had - p.bytes();
          if (freed > 0) this.o.stats.inc(`disk_pruned_${p.name}_bytes_total`, freed);
        }
        await yieldLoop();
      }
      if (enough()) break;
    }
    const after = this.total();
    this.o.stats.set('disk_bytes', after);
    if (after > this.o.maxDisk)
      this.o.log.warn(
        { bytes: after, maxDisk: this.o.maxDisk },
        'data dir over --max-disk after pruning all it could',
      );
    else this.o.log.info({ before, after, maxDisk: this.o.maxDisk }, 'data dir pruned to its quota');
  }

  private oldest(tier: Tier): number | undefined {
    let min: number | undefined;
    for (const p of this.parts) {
      const t = p.oldest(tier);
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  /** Removes what is past retention in every part. */
  async expire(now = Date.now()): Promise<void> {
    for (const p of this.parts) if (!this.stopped) await p.expire?.(now);
  }

  /** Learns what earlier runs left (in the background), then checks every intervalMs; stops on close. */
  start(intervalMs = QUOTA_CHECK_MS): Component {
    const failed = (err: unknown): void => {
      this.o.stats.inc('disk_quota_errors_total');
      this.o.log.error({ err }, 'data dir quota pass failed');
    };
    this.scanned = Promise.all(this.parts.map((p) => p.scan?.()))
      .then(() => this.expire())
      .catch(failed);
    let lastExpire = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      const aged = now - lastExpire >= EXPIRE_MS ? ((lastExpire = now), this.expire(now)) : undefined;
      void Promise.resolve(aged)
        .then(() => this.check())
        .catch(failed);
    }, intervalMs);
    this.timer.unref();
    return component(
      'disk-quota',
      () => this.stop(),
      () => void this.stop(),
    );
  }

  /** Resolves once the start-up walk of the parts is done (tests). */
  ready(): Promise<void> {
    return this.scanned;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.scanned;
    await this.running?.catch(() => {});
  }
}
