// Per-source scan detection: sliding-window distinct ports/hosts (vertical, horizontal, block) and a TRW walk,
// one scan episode per source per activity (open, updates, closed). docs/detection.md explains it.
// State is bounded: at most maxSources sources (least recently seen evicted), each a few small arrays.

import type { Config } from '../config/schema.js';
import { uintToIpv4 } from '../core/addresses.js';
import type { ProbeEvent, ScanEvent, SessionEvent, Tag } from '../core/events.js';
import type { Stats } from '../core/stats.js';
import { STEALTH_KINDS } from '../core/tcp-flags.js';
import { AlertBudget, budgetRates } from './alert-budget.js';
import { fnv1a, lastAddWasNew, packEntry, windowAdd, windowSize } from './distinct.js';
import { Episode, scanEvent } from './episode.js';
import { addrKey, flowKey, Lru, type Key } from './lru.js';
import { CONNECT, KIND_INDEX, KindTally, OTHER, SYN, SYN_STACK } from './probe-types.js';
import { trwModel, trwStep, type TrwModel } from './trw.js';
import { HANDSHAKE_GRACE_MS, PENDING_CAP, TrwPending } from './trw-pending.js';

export type ScanConfig = Pick<
  Config,
  | 'sensor'
  | 'maxSources'
  | 'scanWindow'
  | 'scanPorts'
  | 'scanHosts'
  | 'scanBlockPorts'
  | 'scanBlockHosts'
  | 'scanEpisodeGap'
  | 'trwDetection'
  | 'trwFalsePositive'
  | 'maxAlertsPerMinute'
  | 'handshakeWindow'
>;

export interface ScanDetectorOptions {
  cfg: ScanConfig;
  stats: Stats;
  emit: (ev: ScanEvent) => void;
  /** Which probes are counted: capture's packets, or (without capture) the listener's connections. */
  countVia: 'capture' | 'listener';
  /** Fingerprint tags known for a source (the tagger's memory). */
  tagsFor?: (src: string) => Tag[] | undefined;
  /** Alert budgets (the global one shared with spikes); default: its own at cfg.maxAlertsPerMinute. */
  budget?: AlertBudget;
  /**
   * The block policy: judges every episode event before it is emitted, also those the alert budget keeps back
   * (reported = false), so blocking never depends on the budget. It may set the event's action.
   */
  judge?: (ev: ScanEvent, reported: boolean) => void;
  /** Clock for sweeps (probe times come from the events). */
  now?: () => number;
  /** Minimum time between two updates of one episode. */
  updateEveryMs?: number;
  /** Open episodes at most (each large one costs ~4 KiB); the least recently opened is closed early. */
  maxEpisodes?: number;
}

class Source extends KindTally {
  /** Start of the current activity (reset after a quiet scanWindow). */
  since: number;
  last: number;
  ports: number[] = [];
  hosts: number[] = [];
  llr = 0;
  /** Latest TCP handshake the source completed with the sensor (ms), -Infinity when none is known. */
  handshakeAt = -Infinity;
  episode: Episode | undefined;
  constructor(
    /** The table key: an IPv4 address as an int32 (its text is rebuilt when reported), else the text. */
    readonly key: Key,
    now: number,
    kind: number,
  ) {
    super(kind);
    this.since = now;
    this.last = now;
  }

  get addr(): string {
    return typeof this.key === 'number' ? uintToIpv4(this.key >>> 0) : this.key;
  }
}

export class ScanDetector {
  private readonly sources: Lru<Source>;
  private readonly open = new Set<Source>();
  private readonly pending: TrwPending;
  /** Listener handshakes whose SYN capture has not delivered yet (src:sport → time), bounded. */
  private readonly handshakes = new Lru<number, Key>(65_536);
  /** When sources not (yet) in the table completed a handshake (handshake evidence for new sources). */
  private readonly handshakeSources = new Lru<number, Key>(65_536);
  private readonly trw: TrwModel;
  private readonly budget: AlertBudget;
  private readonly now: () => number;
  private readonly windowSec: number;
  private readonly portCap: number;
  private readonly hostCap: number;
  private readonly updateEvery: number;
  private readonly maxEpisodes: number;
  private readonly epoch: number;
  /** Whether the last touch() counted a probe type new to its source's activity (no result object). */
  private typeWasNew = false;

  constructor(private readonly o: ScanDetectorOptions) {
    const c = o.cfg;
    this.now = o.now ?? Date.now;
    this.epoch = this.now();
    this.trw = trwModel({
      detection: c.trwDetection,
      falsePositive: c.trwFalsePositive,
      theta0: 0.8,
      theta1: 0.2,
    });
    this.budget = o.budget ?? new AlertBudget(budgetRates(c.maxAlertsPerMinute), this.epoch);
    this.windowSec = Math.max(1, Math.round(c.scanWindow / 1000));
    this.portCap = Math.max(c.scanPorts, c.scanBlockPorts);
    this.hostCap = Math.max(c.scanHosts, c.scanBlockHosts);
    this.updateEvery = o.updateEveryMs ?? 60_000;
    this.maxEpisodes = o.maxEpisodes ?? Math.min(c.maxSources, 100_000);
    this.pending = new TrwPending(o.stats, Math.min(PENDING_CAP, c.maxSources));
    this.sources = new Lru<Source>(c.maxSources, (_key, src) => {
      this.o.stats.inc('detect_sources_evicted_total');
      if (src.episode) this.closeEpisode(src, this.now());
    });
  }

  get size(): number {
    return this.sources.size;
  }

  get openEpisodes(): number {
    return this.open.size;
  }

  onProbe(p: ProbeEvent): void {
    if (p.via !== this.o.countVia) {
      // Capture is on and this is the listener: a completed handshake is evidence, not another probe.
      if (p.kind === 'connect' && p.handshake !== false) this.onHandshake(p.src, p.sport, p.time);
      return;
    }
    const t = p.time;
    const kind = this.kindOf(p);
    const s = this.touch(addrKey(p.src), kind, t);
    const newType = this.typeWasNew;
    const handshake = kind === CONNECT && p.handshake !== false;
    if (handshake && t > s.handshakeAt) s.handshakeAt = t;
    const ep = s.episode;
    const shape = this.count(s, p, t, handshake);
    const cur = s.episode; // TRW may have opened one just above
    if (cur) {
      // An episode TRW opened is named by its shape once the windows show one.
      if (cur.kind === 'trw' && shape) cur.kind = shape;
      if (cur === ep) this.changed(s, t, newType);
    } else if (shape) this.openEpisode(s, shape, t);
  }

  /** The probe's kind index; a SYN whose handshake the listener already completed is a connect. */
  private kindOf(p: ProbeEvent): number {
    const kind = KIND_INDEX.get(p.kind) ?? OTHER;
    if (kind !== SYN) return kind;
    if (this.handshakes.size > 0) {
      const fk = flowKey(p.src, p.sport);
      const ht = this.handshakes.peek(fk);
      if (ht !== undefined && Math.abs(p.time - ht) <= HANDSHAKE_GRACE_MS) {
        this.handshakes.delete(fk);
        return CONNECT;
      }
    }
    return (p.options?.length ?? 0) >= 3 ? SYN_STACK : SYN;
  }

  /** The source's entry, created or refreshed, with this probe's kind counted. */
  private touch(key: Key, kind: number, t: number): Source {
    this.typeWasNew = false;
    let s = this.sources.get(key);
    if (!s) {
      s = new Source(key, t, kind);
      const at = this.handshakeSources.size > 0 ? this.handshakeSources.peek(key) : undefined;
      if (at !== undefined) {
        this.handshakeSources.delete(key);
        s.handshakeAt = at;
      }
      this.sources.set(key, s); // may evict the least recently seen source
      return s;
    }
    if (t - s.last > this.o.cfg.scanWindow && !s.episode) {
      // Quiet for a whole window: a new activity starts (the windows expire by themselves).
      s.since = t;
      s.llr = 0;
      s.reset(kind);
    } else this.typeWasNew = s.add(kind);
    if (t > s.last) s.last = t;
    return s;
  }

  /** Adds the probe to the windows, the open episode and TRW; returns the shape a threshold crossed. */
  private count(s: Source, p: ProbeEvent, t: number, handshake: boolean): ScanEvent['kind'] | undefined {
    const sec = Math.floor((t - this.epoch) / 1000);
    const port = p.proto === 'udp' ? p.dport + 65536 : p.dport;
    const hostKey = fnv1a(p.dst) & 0xffffff;
    let ports: number;
    let hosts: number;
    let first: boolean;
    if (s.ports.length === 0 || s.hosts.length === 0) {
      // Most sources send one probe: array literals of one element keep them at ~40 bytes each (a push
      // onto [] would reserve 17 slots).
      s.ports = [packEntry(port, sec)];
      s.hosts = [packEntry(hostKey, sec)];
      ports = hosts = 1;
      first = true;
    } else {
      s.ports = windowAdd(s.ports, port, sec, this.windowSec, this.portCap);
      first = lastAddWasNew();
      s.hosts = windowAdd(s.hosts, hostKey, sec, this.windowSec, this.hostCap);
      first ||= lastAddWasNew();
      ports = s.ports.length;
      hosts = s.hosts.length;
    }
    const ep = s.episode;
    if (ep) {
      ep.probes++;
      ep.ports.add(port);
      ep.hosts.add(hostKey);
      if (t > ep.last) ep.last = t;
    }
    // TRW over first contacts (a port or address new in the window).
    if (first) {
      if (STEALTH_KINDS.has(p.kind)) this.outcome(s, false, t);
      else if (p.proto === 'tcp') this.pending.add(p.src, p.sport, t, handshake);
    }
    const c = this.o.cfg;
    if (ports >= c.scanBlockPorts && hosts >= c.scanBlockHosts) return 'block';
    if (ports >= c.scanPorts) return 'vertical';
    if (hosts >= c.scanHosts) return 'horizontal';
    return undefined;
  }

  /** Session events give TRW outcomes (data sent = success) and handshake evidence. */
  onSession(ev: SessionEvent): void {
    if (ev.proto === 'udp') return;
    const ended = Date.parse(ev.ended) || this.now();
    const s = this.shook(addrKey(ev.src), Date.parse(ev.started) || ended, ended, false);
    if (!this.pending.resolve(ev.src, ev.sport)) return;
    if (s) this.outcome(s, ev.bytes > 0, ended);
  }

  private onHandshake(src: string, sport: number, t: number): void {
    const key = addrKey(src);
    const s = this.sources.peek(key);
    let newType = false;
    // Capture delivers in batches, so the listener's accept often comes before capture's SYN: remember
    // the handshake for that SYN. When the SYN came first, relabel it now.
    if (!s || !this.pending.handshake(src, sport, t)) this.handshakes.set(flowKey(src, sport), t);
    else {
      // The SYN capture counted was a connect() scan's: relabel one SYN as a connect.
      const from = s.count(SYN_STACK) > 0 ? SYN_STACK : SYN;
      newType = s.reported(CONNECT) === 0 && s.count(from) > 0;
      if (s.count(from) > 0) s.relabel(from, CONNECT);
    }
    this.shook(key, t, t, newType);
  }

  /** Records a completed handshake (at `at`) of a source; an open episode that gains evidence says so at once. */
  private shook(key: Key, at: number, t: number, newType: boolean): Source | undefined {
    const s = this.sources.peek(key);
    if (!s) {
      if (at > (this.handshakeSources.peek(key) ?? -Infinity)) this.handshakeSources.set(key, at);
      return undefined;
    }
    if (at > s.handshakeAt) s.handshakeAt = at;
    if (s.episode) this.changed(s, Math.max(t, s.episode.last), newType);
    return s;
  }

  private outcome(s: Source, success: boolean, t: number): void {
    const r = trwStep(this.trw, s.llr, success);
    s.llr = r.llr;
    if (r.decision === 'scanner' && !s.episode) this.openEpisode(s, 'trw', t);
  }

  /** Expires TRW pending probes (failures), sends due updates and closes quiet episodes. */
  sweep(now = this.now()): void {
    for (const [src, success] of this.pending.expire(now)) {
      const s = this.sources.peek(addrKey(src));
      if (s && success !== undefined) this.outcome(s, success, now);
    }
    for (const s of this.open) {
      const ep = s.episode!;
      if (now - ep.last >= this.o.cfg.scanEpisodeGap) this.closeEpisode(s, now);
      else this.maybeUpdate(s, now);
    }
    this.o.stats.set('detect_sources', this.sources.size);
    this.o.stats.set('scan_episodes_open', this.open.size);
  }

  /** Closes every open episode (sensor shutdown). */
  closeAll(): void {
    const now = this.now();
    for (const s of [...this.open]) this.closeEpisode(s, now);
  }

  private openEpisode(s: Source, kind: ScanEvent['kind'], t: number): void {
    if (this.open.size >= this.maxEpisodes) {
      const first = this.open.values().next().value as Source | undefined;
      if (first) {
        this.closeEpisode(first, t);
        this.o.stats.inc('scan_episodes_evicted_total');
      }
    }
    const ep = new Episode(kind, s.since, t, t);
    for (const e of s.ports) ep.ports.add(Math.floor(e / 2 ** 29));
    for (const e of s.hosts) ep.hosts.add(Math.floor(e / 2 ** 29));
    ep.probes = s.total;
    ep.proven = this.proven(s, ep);
    s.episode = ep;
    this.open.add(s);
    this.o.stats.inc('scan_episodes_total');
    this.publish(s, t, 'update');
  }

  /**
   * handshake_completed: the source completed a TCP handshake with the sensor while the episode is open or at
   * most --handshake-window before it opened. Older evidence does not count (a spoofed sweep hours after one
   * real connection from that address is not "proven").
   */
  private proven(s: Source, ep: Episode): boolean {
    return s.handshakeAt >= ep.opened - this.o.cfg.handshakeWindow;
  }

  /** An open episode changed: a new probe type or new handshake evidence is sent at once, else at the pace. */
  private changed(s: Source, t: number, urgent: boolean): void {
    const ep = s.episode!;
    if (!ep.proven && this.proven(s, ep)) {
      ep.proven = true;
      urgent = true;
    }
    if (urgent) this.publish(s, t, 'update');
    else this.maybeUpdate(s, t);
  }

  private maybeUpdate(s: Source, t: number): void {
    const ep = s.episode!;
    if (t - ep.lastTry < this.updateEvery) return;
    // A reported episode sends an update when something changed; an unreported one asks the budget again.
    if (ep.reported && ep.signature(s) === ep.emitted) return;
    this.publish(s, t, 'update');
  }

  private closeEpisode(s: Source, now: number): void {
    const ep = s.episode;
    if (!ep) return;
    this.publish(s, now, 'closed');
    if (!ep.reported) this.o.stats.inc('scan_episodes_unreported_total');
    this.open.delete(s);
    s.episode = undefined;
    // A new episode starts from scratch: forget the window, the walk and the kinds.
    s.ports.length = 0;
    s.hosts.length = 0;
    s.llr = 0;
    s.since = ep.last;
    s.reset(KIND_INDEX.get(s.mostFrequent())!, 0);
  }

  /**
   * Sends the episode's state. An episode not reported yet first needs the alert budget; then its first event
   * is an open (followed by the closed one when it is closing). Refused, it is judged by the block policy all
   * the same and tried again at the next update or change, or when it closes.
   */
  private publish(s: Source, t: number, state: 'update' | 'closed'): void {
    const ep = s.episode!;
    ep.lastTry = t;
    if (!ep.reported) {
      if (!this.admit(s, ep, t)) {
        if (this.o.judge) this.o.judge(this.event(s, state === 'closed' ? state : 'open', t), false);
        return;
      }
      ep.reported = true;
      this.deliver(s, 'open', t);
      if (state === 'update') return;
    }
    this.deliver(s, state, t);
  }

  /** Spends an alert of the episode's budgets; a refusal is counted once per episode, by reason. */
  private admit(s: Source, ep: Episode, t: number): boolean {
    const refused = this.budget.take(s.addr, s.key, ep.proven, t);
    if (!refused) {
      if (ep.suppressed) this.o.stats.inc('scan_alerts_late_total');
      return true;
    }
    if (!ep.suppressed) {
      ep.suppressed = true;
      this.o.stats.inc('scan_alerts_suppressed_total');
      this.o.stats.inc(`scan_alerts_suppressed_${refused}_total`);
    }
    return false;
  }

  private deliver(s: Source, state: ScanEvent['state'], t: number): void {
    const ev = this.event(s, state, t);
    s.episode!.emitted = s.episode!.signature(s);
    this.o.judge?.(ev, true);
    this.o.emit(ev);
  }

  private event(s: Source, state: ScanEvent['state'], t: number): ScanEvent {
    const addr = s.addr;
    const c = { sensor: this.o.cfg.sensor, src: addr, windowSec: this.windowSec, now: t };
    return scanEvent(s.episode!, s, state, { ...c, tags: this.o.tagsFor?.(addr) });
  }

  /** Used by tests: distinct ports/hosts in a source's current window. */
  windowOf(src: string, t: number): { ports: number; hosts: number } | undefined {
    const s = this.sources.peek(addrKey(src));
    if (!s) return undefined;
    const sec = Math.floor((t - this.epoch) / 1000);
    return {
      ports: windowSize(s.ports, sec, this.windowSec),
      hosts: windowSize(s.hosts, sec, this.windowSec),
    };
  }
}
