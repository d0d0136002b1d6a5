// Scan detector, tool fingerprints and spike detector: reads probe/session events, emits scan and spike
// events. The tagger runs before the sinks (it completes session events); the detectors after them.
import type { SensorContext } from '../core/context.js';
import { countedVia } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import type { ScanEvent, Tag } from '../core/events.js';
import { AlertBudget, budgetRates } from './alert-budget.js';
import { RateLimiter } from './rate-limit.js';
import { ScanDetector } from './scan-detector.js';
import { SpikeDetector } from './spike.js';
import { FingerprintMemory, MAX_TAGGED_SOURCES } from './tagger.js';

export interface TaggerComponent extends Component {
  /** The tags remembered for a source (sensor.ts hands it to the scan detector for its scan events). */
  readonly tagsFor: (src: string) => Tag[] | undefined;
}

/**
 * Registered before the sinks: annotates session events with fingerprint tags (from the SYN headers that
 * capture saw for the same source) before they are written.
 */
export async function startTagger(ctx: SensorContext): Promise<TaggerComponent> {
  const memory = new FingerprintMemory(ctx.stats, Math.min(ctx.cfg.maxSources, MAX_TAGGED_SOURCES));
  const offProbe = ctx.bus.on('probe', (p) => {
    if (p.via === 'capture' && p.proto === 'tcp') memory.observe(p);
  });
  const offSession = ctx.bus.on('session', (ev) => memory.tagSession(ev));
  const stop = (): void => {
    offProbe();
    offSession();
  };
  const tagsFor = (src: string): Tag[] | undefined => memory.forSource(src);
  return Object.assign(
    component('tagger', async () => stop(), stop),
    { tagsFor },
  );
}

export interface DetectorOptions {
  /** Clock (tests): defaults to Date.now. */
  now?: () => number;
  /** Sweep period (pending TRW outcomes, episode updates and ends, spike intervals); default 1 s. */
  sweepMs?: number;
  /** The block policy (firewall/): judges every scan episode's events, reported or kept back by the budget. */
  judge?: (ev: ScanEvent, reported: boolean) => void;
  /** The tagger's memory (detect/tagger.ts): the tags a scan event of this source carries. */
  tagsFor?: (src: string) => Tag[] | undefined;
  /** Sources whose scans are counted but never reported (so never blocked): benign scanners under ignore. */
  ignoreSource?: (src: string) => boolean;
}

export async function startDetectors(ctx: SensorContext, opts: DetectorOptions = {}): Promise<Component> {
  const { cfg, bus, stats } = ctx;
  const now = opts.now ?? Date.now;
  // Spikes share the global alert bucket with scans; scans also have per-source and per-prefix budgets.
  const limiter = new RateLimiter(cfg.maxAlertsPerMinute, now());
  const budget = new AlertBudget(budgetRates(cfg.maxAlertsPerMinute), now(), limiter);
  const via = countedVia(cfg);
  const ignored = (src: string): boolean => opts.ignoreSource?.(src) ?? false;
  const scans = new ScanDetector({
    cfg,
    stats,
    countVia: via,
    now,
    budget,
    // Benign scanners under --benign-scanners ignore: counted, never judged (blocked) nor reported.
    judge: opts.judge && ((ev, reported) => void (ignored(ev.src) || opts.judge!(ev, reported))),
    emit: (ev) => {
      if (ignored(ev.src)) stats.inc('scan_alerts_benign_ignored_total');
      else bus.emit(ev);
    },
    tagsFor: opts.tagsFor,
  });
  const spikes = new SpikeDetector({
    sensor: cfg.sensor,
    intervalMs: cfg.spikeInterval,
    score: cfg.spikeScore,
    minCount: cfg.spikeMinCount,
    now: now(),
    emit: (ev) => bus.emit(ev),
    allow: (t) => limiter.take(t),
    onSuppressed: () => stats.inc('spike_alerts_suppressed_total'),
  });
  const offProbe = bus.on('probe', (p) => {
    scans.onProbe(p);
    if (p.via === via) spikes.observe(p.proto, p.dport, p.src, p.time);
  });
  const offSession = bus.on('session', (ev) => scans.onSession(ev));
  const timer = setInterval(() => {
    const t = now();
    scans.sweep(t);
    spikes.roll(t);
  }, opts.sweepMs ?? 1000);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    offProbe();
    offSession();
  };
  return component(
    'detect',
    async () => {
      stop();
      scans.sweep(now());
      scans.closeAll();
    },
    stop,
  );
}
