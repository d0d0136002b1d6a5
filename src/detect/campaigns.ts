// Campaigns: per session signature (intel's template), distinct sources per --spike-interval. A signature
// never seen by this store that reaches --campaign-min-sources sources within one interval raises a `new`
// campaign at once; a known signature whose sources spike over its own baseline (the spike detector's math,
// per signature) raises a `spike` at the interval's end. At most one campaign event per signature per
// interval. State is bounded by --max-signatures (least recently seen evicted and counted).
import type { SensorContext } from '../core/context.js';
import { type CampaignEvent, nowIso, type SessionEvent } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import type { Stats } from '../core/stats.js';
import { DistinctCounter, hash32 } from './hll.js';
import { Lru } from './lru.js';
import { type Baseline, scoreAndLearn } from './spike.js';

/** Intervals of history kept per signature for sparklines. */
export const SERIES_LENGTH = 24;
const MAX_PORTS = 16;
const MAX_EXAMPLE = 512;
/** Intervals a baseline learns before it can spike. */
const WARMUP = 3;

interface SignatureState {
  firstSeen: number;
  /** The store had seen it before this process met it: never a `new` campaign. */
  known: boolean;
  app: string;
  example: string;
  tags: Set<string>;
  cves: Set<string>;
  ports: Set<number>;
  sources: DistinctCounter;
  baseline: Baseline;
  /** Distinct sources per closed interval, oldest first. */
  series: number[];
  /** Interval index of the last campaign event (one per interval). */
  raisedIn: number;
  /** Interval index the counter counts. */
  interval: number;
}

export interface CampaignOptions {
  sensor: string;
  intervalMs: number;
  minSources: number;
  spikeScore: number;
  maxSignatures: number;
  stats?: Stats;
  /** When this store first saw a signature (ms), if it ever did: "new" means it never did. */
  firstSeenOf?: (template: string) => number | undefined;
  emit: (ev: CampaignEvent) => void;
  now: number;
}

/** The text a campaign shows: the first request line, or the payload's printable prefix. */
export function exampleOf(ev: SessionEvent): string {
  const h = ev.http?.[0];
  if (h) return `${h.method} ${h.path}`.slice(0, MAX_EXAMPLE);
  const first = ev.payloads[0]?.data;
  if (!first) return '';
  const bytes = Buffer.from(first.slice(0, Math.ceil((MAX_EXAMPLE * 4) / 3)), 'base64').subarray(
    0,
    MAX_EXAMPLE,
  );
  let s = '';
  for (const c of bytes) s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : c === 0x0a ? '\n' : '.';
  return s;
}

export class CampaignTracker {
  private readonly sigs: Lru<SignatureState, string>;
  private interval: number;
  private readonly alpha: number;

  constructor(private readonly o: CampaignOptions) {
    this.sigs = new Lru<SignatureState, string>(o.maxSignatures, () =>
      o.stats?.inc('campaign_signatures_evicted_total'),
    );
    this.interval = Math.floor(o.now / o.intervalMs);
    this.alpha = 2 / (Math.max(1, Math.round((7 * 86_400_000) / o.intervalMs)) + 1);
  }

  get size(): number {
    return this.sigs.size;
  }

  observe(ev: SessionEvent, t: number): void {
    const template = ev.signature?.template;
    if (!template) return;
    if (Math.floor(t / this.o.intervalMs) > this.interval) this.roll(t);
    let s = this.sigs.get(template);
    if (!s) {
      s = this.fresh(template, ev, t);
      this.sigs.set(template, s);
    }
    if (s.interval !== this.interval) this.close(s, template);
    for (const tag of ev.tags ?? []) if (tag.confidence === 1 && s.tags.size < 32) s.tags.add(tag.name);
    for (const c of ev.cves ?? []) if (s.cves.size < 32) s.cves.add(c);
    if (s.ports.size < MAX_PORTS) s.ports.add(ev.dport);
    s.sources.add(hash32(ev.src));
    const isNew = !s.known && t - s.firstSeen < this.o.intervalMs;
    if (isNew && s.raisedIn !== this.interval && s.sources.count >= this.o.minSources)
      this.raise('new', template, s, t);
  }

  private fresh(template: string, ev: SessionEvent, t: number): SignatureState {
    // The store writes sessions before detectors see them: a first sighting at this very session is not "seen".
    const seen = this.o.firstSeenOf?.(template);
    const known = seen !== undefined && seen < (Date.parse(ev.started) || t);
    return {
      firstSeen: known ? seen : t,
      known,
      app: ev.app ?? 'unknown',
      example: exampleOf(ev),
      tags: new Set(),
      cves: new Set(),
      ports: new Set(),
      sources: new DistinctCounter(this.o.minSources),
      baseline: { mean: 0, var: 0, n: 0 },
      series: [],
      raisedIn: -1,
      interval: this.interval,
    };
  }

  /** Closes the intervals a signature has not closed yet: scores them, learns them, keeps the series. */
  private close(s: SignatureState, template: string): void {
    const endMs = (s.interval + 1) * this.o.intervalMs;
    const x = s.sources.count;
    const before = { ...s.baseline };
    const { score, sd } = scoreAndLearn(s.baseline, x, this.alpha, WARMUP, this.o.spikeScore);
    s.series.push(x);
    if (s.series.length > SERIES_LENGTH) s.series.shift();
    const known = s.known || endMs - s.firstSeen > this.o.intervalMs;
    if (
      known &&
      before.n >= WARMUP &&
      x >= this.o.minSources &&
      score >= this.o.spikeScore &&
      s.raisedIn !== s.interval
    )
      this.raise('spike', template, s, endMs, { mean: before.mean, sd });
    // Empty intervals since (at most a series' worth) are learnt as zeros.
    const gap = Math.min(this.interval - s.interval - 1, SERIES_LENGTH);
    for (let i = 0; i < gap; i++) {
      scoreAndLearn(s.baseline, 0, this.alpha, WARMUP, this.o.spikeScore);
      s.series.push(0);
      if (s.series.length > SERIES_LENGTH) s.series.shift();
    }
    s.sources = new DistinctCounter(this.o.minSources);
    s.interval = this.interval;
  }

  /** Ends the current interval for every signature (the sweep timer calls it). */
  roll(now: number): void {
    const idx = Math.floor(now / this.o.intervalMs);
    if (idx <= this.interval) return;
    this.interval = idx;
    for (const [template, s] of this.sigs.entries()) if (s.interval !== idx) this.close(s, template);
  }

  private raise(
    kind: CampaignEvent['kind'],
    template: string,
    s: SignatureState,
    t: number,
    base?: { mean: number; sd: number },
  ): void {
    s.raisedIn = kind === 'new' ? this.interval : s.interval;
    const b = base ?? { mean: s.baseline.mean, sd: Math.sqrt(s.baseline.var) };
    this.o.stats?.inc('campaigns_total');
    this.o.emit({
      ts: nowIso(t),
      sensor: this.o.sensor,
      type: 'campaign',
      kind,
      signature: template,
      app: s.app,
      example: s.example,
      tags: [...s.tags].sort(),
      cves: [...s.cves].sort(),
      sources: s.sources.count,
      interval_s: Math.round(this.o.intervalMs / 1000),
      baseline: { mean: round2(b.mean), sd: round2(b.sd) },
      first_seen: nowIso(s.firstSeen),
      ports: [...s.ports].sort((a, c) => a - c),
      series: kind === 'new' ? [...s.series, s.sources.count] : [...s.series],
    });
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Runs the tracker on session events; `firstSeenOf` is the store's memory of signatures (sensor.ts). */
export async function startCampaigns(
  ctx: SensorContext,
  opts: { firstSeenOf?: (template: string) => number | undefined; now?: () => number; sweepMs?: number } = {},
): Promise<Component> {
  const { cfg, bus, stats } = ctx;
  const now = opts.now ?? Date.now;
  const tracker = new CampaignTracker({
    sensor: cfg.sensor,
    intervalMs: cfg.spikeInterval,
    minSources: cfg.campaignMinSources,
    spikeScore: cfg.spikeScore,
    maxSignatures: cfg.maxSignatures,
    stats,
    firstSeenOf: opts.firstSeenOf,
    emit: (ev) => bus.emit(ev),
    now: now(),
  });
  const off = bus.on('session', (ev) => tracker.observe(ev, now()));
  const timer = setInterval(() => {
    tracker.roll(now());
    stats.set('campaign_signatures', tracker.size);
  }, opts.sweepMs ?? 1000);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    off();
  };
  return component('campaigns', async () => stop(), stop);
}
