// Spikes per (proto, port): distinct sources per interval against a per-port EWMA baseline with variance.
// docs/detection.md gives the math. State: one DistinctCounter per port active in the current interval
// (<= 256 B each once large) and one baseline per port seen (2 numbers): bounded by 2 x 65536 ports.
import type { SpikeEvent } from '../core/events.js';
import { nowIso } from '../core/events.js';
import { DistinctCounter, hash32 } from './hll.js';

export interface SpikeOptions {
  sensor: string;
  intervalMs: number;
  score: number;
  minCount: number;
  emit: (ev: SpikeEvent) => void;
  /** Rate limit shared with scan alerts: false = suppressed. */
  allow?: (now: number) => boolean;
  onSuppressed?: () => void;
  /** Intervals over which the baseline averages (EWMA span); default 7 days of intervals. */
  spanIntervals?: number;
  /** Intervals observed before any spike is raised. */
  warmupIntervals?: number;
  now: number;
}

export interface Baseline {
  mean: number;
  var: number;
  /** Intervals this baseline has seen. */
  n: number;
}

/**
 * Scores one interval's count against a baseline, then learns it: a running mean while the history is short,
 * the EWMA (rate alpha) after. Once warm, the update is winsorised: one spike moves the baseline by at most
 * `cap` deviations' worth. Shared by the per-port spikes and the per-signature campaigns.
 */
export function scoreAndLearn(
  b: Baseline,
  x: number,
  alpha: number,
  warmup: number,
  cap: number,
): { score: number; sd: number } {
  const sd = Math.max(Math.sqrt(b.var), Math.sqrt(Math.max(b.mean, 1)));
  const score = (x - b.mean) / sd;
  b.n++;
  const a = Math.max(alpha, 1 / b.n);
  const v = b.n > warmup ? Math.min(x, b.mean + cap * sd) : x;
  const diff = v - b.mean;
  const incr = a * diff;
  b.mean += incr;
  b.var = (1 - a) * (b.var + diff * incr);
  return { score, sd };
}

/** Empty intervals replayed at most after a long pause (beyond that the baselines have decayed anyway). */
const MAX_CATCH_UP = 1000;

export class SpikeDetector {
  private current = new Map<number, DistinctCounter>();
  private readonly baselines = new Map<number, Baseline>();
  private interval: number;
  private seen = 0;
  private readonly alpha: number;
  private readonly warmup: number;

  constructor(private readonly o: SpikeOptions) {
    this.interval = Math.floor(o.now / o.intervalMs);
    const span = o.spanIntervals ?? Math.max(1, Math.round((7 * 86_400_000) / o.intervalMs));
    this.alpha = 2 / (span + 1);
    this.warmup = o.warmupIntervals ?? 3;
  }

  get ports(): number {
    return this.baselines.size;
  }

  observe(proto: 'tcp' | 'udp', port: number, src: string, t: number): void {
    if (Math.floor(t / this.o.intervalMs) > this.interval) this.roll(t);
    const key = (proto === 'udp' ? 65536 : 0) + (port & 0xffff);
    let c = this.current.get(key);
    if (!c) this.current.set(key, (c = new DistinctCounter()));
    c.add(hash32(src));
  }

  /** Closes every interval that ended before `now`. */
  roll(now: number): void {
    const idx = Math.floor(now / this.o.intervalMs);
    if (idx <= this.interval) return;
    this.finish(this.current, (this.interval + 1) * this.o.intervalMs);
    this.current = new Map();
    const empty = Math.min(idx - this.interval - 1, MAX_CATCH_UP);
    for (let i = 0; i < empty; i++) this.finish(new Map(), 0);
    this.interval = idx;
  }

  baseline(proto: 'tcp' | 'udp', port: number): Baseline | undefined {
    return this.baselines.get((proto === 'udp' ? 65536 : 0) + port);
  }

  private finish(counts: Map<number, DistinctCounter>, endMs: number): void {
    this.seen++;
    const keys = new Set<number>([...this.baselines.keys(), ...counts.keys()]);
    for (const key of keys) {
      const x = counts.get(key)?.count ?? 0;
      const b = this.baselines.get(key) ?? { mean: 0, var: 0, n: 0 };
      const before = { ...b };
      const { score, sd } = scoreAndLearn(b, x, this.alpha, this.warmup, this.o.score);
      if (this.seen > this.warmup && x >= this.o.minCount && score >= this.o.score && endMs > 0) {
        this.raise(key, x, before, sd, score, endMs);
      }
      if (b.mean < 0.01 && x === 0) this.baselines.delete(key);
      else this.baselines.set(key, b);
    }
  }

  private raise(key: number, count: number, b: Baseline, sd: number, score: number, endMs: number): void {
    if (this.o.allow && !this.o.allow(endMs)) {
      this.o.onSuppressed?.();
      return;
    }
    this.o.emit({
      ts: nowIso(endMs),
      sensor: this.o.sensor,
      type: 'spike',
      proto: key >= 65536 ? 'udp' : 'tcp',
      dport: key & 0xffff,
      interval_s: Math.round(this.o.intervalMs / 1000),
      count,
      baseline: { mean: round2(b.mean), sd: round2(sd), method: 'ewma' },
      score: round2(score),
    });
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
