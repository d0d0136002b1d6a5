// Per-source scan detection: sliding-window distinct ports/hosts (vertical, horizontal, block) and a TRW walk,
// one scan event per source per episode (open, rate-limited updates, closed). docs/detection.md explains it.
// State is bounded: at most maxSources sources (least recently seen evicted), each a few small arrays.

import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { ProbeEvent, ProbeKind, ScanEvent, SessionEvent, Tag } from '../core/events.js';
import { nowIso } from '../core/events.js';
import type { Stats } from '../core/stats.js';
import { STEALTH_KINDS } from '../core/tcp-flags.js';
import { EpisodeCounter, fnv1a, lastAddWasNew, packEntry, windowAdd, windowSize } from './distinct.js';
import { bestTool } from './fingerprint.js';
import { addrKey, flowKey, Lru, type Key } from './lru.js';
import { RateLimiter } from './rate-limit.js';
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
>;

export interface ScanDetectorOptions {
  cfg: ScanConfig;
  stats: Stats;
  emit: (ev: ScanEvent) => void;
  /** Which probes are counted: capture's packets, or (without capture) the listener's connections. */
  countVia: 'capture' | 'listener';
  /** Fingerprint tags known for a source (the tagger's memory). */
  tagsFor?: (src: string) => Tag[] | undefined;
  /** Alert rate limit (shared with spikes); default: its own at cfg.maxAlertsPerMinute. */
  limiter?: RateLimiter;
  /** Clock for sweeps (probe times come from the events). */
  now?: () => number;
  /** Minimum time between two updates of one episode. */
  updateEveryMs?: number;
  /** Open episodes at most (each large one costs ~4 KiB); the least recently opened is closed early. */
  maxEpisodes?: number;
}

const KINDS: readonly ProbeKind[] = [
  'syn',
  'fin',
  'null',
  'xmas',
  'ack',
  'maimon',
  'udp',
  'connect',
  'other',
  // Internal: a SYN carrying a full TCP stack's options (>= 3: MSS, window scale, SACK, timestamps), as the
  // kernel sends for connect(); raw scanner templates carry none or MSS only. Reported as 'syn'.
  'syn',
];
const KIND_INDEX = new Map(KINDS.slice(0, 9).map((k, i) => [k, i]));
const SYN = 0;
const CONNECT = 7;
const SYN_STACK = 9;
const isSyn = (k: number): boolean => k === SYN || k === SYN_STACK;

interface Episode {
  id: string;
  kind: ScanEvent['kind'];
  first: number;
  last: number;
  probes: number;
  ports: EpisodeCounter;
  hosts: EpisodeCounter;
  lastEmit: number;
  emitted: string;
  suppressed: boolean;
}

class Source {
  /** Start of the current activity (reset after a quiet scanWindow). */
  since: number;
  last: number;
  ports: number[] = [];
  hosts: number[] = [];
  /** Kind of the only probe so far, or the per-kind counts once there are several. */
  kind0: number;
  /** Probes of kind0 while all probes had that kind (no per-kind array for the common case). */
  n0 = 1;
  kinds: number[] | undefined;
  llr = 0;
  handshake = false;
  episode: Episode | undefined;
  constructor(
    /** The table key: an IPv4 address as an int32 (its text is rebuilt when reported), else the text. */
    readonly key: Key,
    now: number,
    kind: number,
  ) {
    this.since = now;
    this.last = now;
    this.kind0 = kind;
  }

  get addr(): string {
    return typeof this.key === 'number' ? uintToIpv4(this.key >>> 0) : this.key;
  }
}

const uintToIpv4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

export class ScanDetector {
  private readonly sources: Lru<Source>;
  private readonly open = new Set<Source>();
  private readonly pending: TrwPending;
  /** Listener handshakes whose SYN capture has not delivered yet (src:sport → time), bounded. */
  private readonly handshakes = new Lru<number, Key>(65_536);
  /** Sources that completed a handshake before capture showed them (handshake_completed for new sources). */
  private readonly handshakeSources = new Lru<true, Key>(65_536);
  private readonly trw: TrwModel;
  private readonly limiter: RateLimiter;
  private readonly now: () => number;
  private readonly windowSec: number;
  private readonly portCap: number;
  private readonly hostCap: number;
  private readonly updateEvery: number;
  private readonly maxEpisodes: number;
  private readonly epoch: number;

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
    this.limiter = o.limiter ?? new RateLimiter(c.maxAlertsPerMinute, this.epoch);
    this.windowSec = Math.max(1, Math.round(c.scanWindow / 1000));
    this.portCap = Math.max(c.scanPorts, c.scanBlockPorts);
    this.hostCap = Math.max(c.scanHosts, c.scanBlockHosts);
    this.updateEvery = o.updateEveryMs ?? 60_000;
    this.maxEpisodes = o.maxEpisodes ?? Math.min(c.maxSources, 100_000);
    this.pending = new TrwPending(o.stats, Math.min(PENDING_CAP, c.maxSources));
    this.sources = new Lru<Source>(c.maxSources, (_key, src) => {
      this.o.stats.inc('detect_sources_evicted_total');
      if (src.episode) this.closeEpisode(src);
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
      if (p.kind === 'connect') this.onHandshake(p.src, p.sport, p.time);
      return;
    }
    const t = p.time;
    let kind = KIND_INDEX.get(p.kind) ?? KIND_INDEX.get('other')!;
    if (kind === SYN && (p.options?.length ?? 0) >= 3) kind = SYN_STACK;
    let handshake = p.kind === 'connect' && p.handshake !== false;
    if (isSyn(kind) && this.handshakes.size > 0) {
      // The listener already completed this connection's handshake: a connect, not a SYN probe.
      const fk = flowKey(p.src, p.sport);
      const ht = this.handshakes.peek(fk);
      if (ht !== undefined && Math.abs(p.time - ht) <= HANDSHAKE_GRACE_MS) {
        this.handshakes.delete(fk);
        kind = CONNECT;
        handshake = true;
      }
    }
    const key = addrKey(p.src);
    let s = this.sources.get(key);
    if (s) {
      if (t - s.last > this.o.cfg.scanWindow && !s.episode) {
        // Quiet for a whole window: a new activity starts (the windows expire by themselves).
        s.since = t;
        s.llr = 0;
        s.kinds = undefined;
        s.kind0 = kind;
        s.n0 = 1;
      } else if (s.kinds) s.kinds[kind]!++;
      else if (kind === s.kind0) s.n0++;
      else {
        s.kinds = new Array<number>(KINDS.length).fill(0);
        s.kinds[s.kind0] = s.n0;
        s.kinds[kind]!++;
      }
      if (t > s.last) s.last = t;
    } else {
      s = new Source(key, t, kind);
      if (this.handshakeSources.size > 0 && this.handshakeSources.delete(key)) s.handshake = true;
      this.sources.set(key, s); // may evict the least recently seen source
    }
    if (handshake) s.handshake = true;

    const sec = Math.floor((t - this.epoch) / 1000);
    const port = p.proto === 'udp' ? p.dport + 65536 : p.dport;
    const hostKey = fnv1a(p.dst) & 0xffffff;
    let pw: { size: number; isNew: boolean };
    let hw: { size: number; isNew: boolean };
    if (s.ports.length === 0 || s.hosts.length === 0) {
      // Most sources send one probe: array literals of one element keep them at ~40 bytes each (a push
      // onto [] would reserve 17 slots).
      s.ports = [packEntry(port, sec)];
      s.hosts = [packEntry(hostKey, sec)];
      pw = hw = { size: 1, isNew: true };
    } else {
      s.ports = windowAdd(s.ports, port, sec, this.windowSec, this.portCap);
      pw = { size: s.ports.length, isNew: lastAddWasNew() };
      s.hosts = windowAdd(s.hosts, hostKey, sec, this.windowSec, this.hostCap);
      hw = { size: s.hosts.length, isNew: lastAddWasNew() };
    }
    const ep = s.episode;
    if (ep) {
      ep.probes++;
      ep.ports.add(port);
      ep.hosts.add(hostKey);
      if (t > ep.last) ep.last = t;
    }

    // TRW over first contacts (a port or address new in the window).
    if (pw.isNew || hw.isNew) {
      if (STEALTH_KINDS.has(p.kind)) this.outcome(s, false, t);
      else if (p.proto === 'tcp') {
        this.pending.add(p.src, p.sport, t, handshake);
      }
    }

    const c = this.o.cfg;
    let kindOf: ScanEvent['kind'] | undefined;
    if (pw.size >= c.scanBlockPorts && hw.size >= c.scanBlockHosts) kindOf = 'block';
    else if (pw.size >= c.scanPorts) kindOf = 'vertical';
    else if (hw.size >= c.scanHosts) kindOf = 'horizontal';
    const cur = s.episode; // TRW may have opened one just above
    if (cur) {
      // An episode TRW opened is named by its shape once the windows show one.
      if (cur.kind === 'trw' && kindOf) cur.kind = kindOf;
      if (cur === ep) this.maybeUpdate(s, t);
    } else if (kindOf) this.openEpisode(s, kindOf, t);
  }

  /** Session events give TRW outcomes (data sent = success) and handshake evidence. */
  onSession(ev: SessionEvent): void {
    if (ev.proto === 'udp') return;
    const s = this.sources.peek(addrKey(ev.src));
    if (s) s.handshake = true;
    if (!this.pending.resolve(ev.src, ev.sport)) return;
    if (s) this.outcome(s, ev.bytes > 0, Date.parse(ev.ended) || this.now());
  }

  private onHandshake(src: string, sport: number, t: number): void {
    const s = this.sources.peek(addrKey(src));
    if (s) s.handshake = true;
    else this.handshakeSources.set(addrKey(src), true);
    // Capture delivers in batches, so the listener's accept often comes before capture's SYN: remember
    // the handshake for that SYN. When the SYN came first, relabel it now.
    if (!s || !this.pending.handshake(src, sport, t)) {
      this.handshakes.set(flowKey(src, sport), t);
      return;
    }
    // The SYN capture counted was a connect() scan's: relabel one SYN as a connect.
    if (s.kinds) {
      const from = s.kinds[SYN_STACK]! > 0 ? SYN_STACK : SYN;
      if (s.kinds[from]! > 0) {
        s.kinds[from]!--;
        s.kinds[CONNECT]!++;
      }
    } else if (isSyn(s.kind0)) {
      if (s.n0 <= 1) s.kind0 = CONNECT;
      else {
        s.kinds = new Array<number>(KINDS.length).fill(0);
        s.kinds[s.kind0] = s.n0 - 1;
        s.kinds[CONNECT] = 1;
      }
    }
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
      if (now - ep.last >= this.o.cfg.scanEpisodeGap) this.closeEpisode(s);
      else this.maybeUpdate(s, now);
    }
    this.o.stats.set('detect_sources', this.sources.size);
    this.o.stats.set('scan_episodes_open', this.open.size);
  }

  /** Closes every open episode (sensor shutdown). */
  closeAll(): void {
    for (const s of [...this.open]) this.closeEpisode(s);
  }

  private openEpisode(s: Source, kind: ScanEvent['kind'], t: number): void {
    if (this.open.size >= this.maxEpisodes) {
      const first = this.open.values().next().value as Source | undefined;
      if (first) {
        this.closeEpisode(first);
        this.o.stats.inc('scan_episodes_evicted_total');
      }
    }
    const ep: Episode = {
      id: randomUUID(),
      kind,
      first: s.since,
      last: t,
      probes: 0,
      ports: new EpisodeCounter(),
      hosts: new EpisodeCounter(),
      lastEmit: t,
      emitted: '',
      suppressed: false,
    };
    for (const e of s.ports) ep.ports.add(Math.floor(e / 2 ** 29));
    for (const e of s.hosts) ep.hosts.add(Math.floor(e / 2 ** 29));
    ep.probes = s.kinds ? s.kinds.reduce((a, b) => a + b, 0) : s.n0;
    s.episode = ep;
    this.open.add(s);
    this.o.stats.inc('scan_episodes_total');
    if (!this.limiter.take(t)) {
      ep.suppressed = true;
      this.o.stats.inc('scan_alerts_suppressed_total');
      return;
    }
    this.send(s, 'open');
  }

  private maybeUpdate(s: Source, t: number): void {
    const ep = s.episode!;
    if (ep.suppressed || t - ep.lastEmit < this.updateEvery) return;
    if (this.signature(ep) === ep.emitted) return;
    ep.lastEmit = t;
    this.send(s, 'update');
  }

  private closeEpisode(s: Source): void {
    const ep = s.episode;
    if (!ep) return;
    if (!ep.suppressed) this.send(s, 'closed');
    this.open.delete(s);
    s.episode = undefined;
    // A new episode starts from scratch: forget the window, the walk and the kinds.
    s.ports.length = 0;
    s.hosts.length = 0;
    s.llr = 0;
    s.since = ep.last;
    s.kind0 = KIND_INDEX.get(this.dominantKind(s))!;
    s.n0 = 0;
    s.kinds = undefined;
  }

  private signature(ep: Episode): string {
    return `${ep.kind}/${ep.ports.count}/${ep.hosts.count}/${ep.probes}`;
  }

  private send(s: Source, state: ScanEvent['state']): void {
    const ep = s.episode!;
    ep.emitted = this.signature(ep);
    const addr = s.addr;
    const tags = this.o.tagsFor?.(addr);
    const ev: ScanEvent = {
      ts: nowIso(state === 'closed' ? Math.max(ep.last, this.now()) : ep.last),
      sensor: this.o.cfg.sensor,
      type: 'scan',
      id: ep.id,
      state,
      src: addr,
      kind: ep.kind,
      probe: this.dominantKind(s),
      ports: ep.ports.count,
      hosts: ep.hosts.count,
      probes: ep.probes,
      window_s: this.windowSec,
      first_seen: nowIso(ep.first),
      last_seen: nowIso(ep.last),
      handshake_completed: s.handshake,
      action: 'logged',
    };
    const tool = bestTool(tags);
    if (tool) ev.tool = tool;
    if (tags?.length) ev.tags = tags.map((t) => ({ ...t })); // the memory's lists are shared and frozen
    this.o.emit(ev);
  }

  /**
   * The most frequent kind (both SYN counts together), except that a source whose SYNs are mostly full-stack
   * SYNs made a connect() scan: only an operating system's TCP stack sends them, raw scanner templates carry
   * no options or MSS only (fixtures/scanner-packets.ts). Handshakes seen by the listener are not required:
   * a client that resets right after the handshake (nmap -sT) is gone before accept() can name its peer.
   * A raw SYN scanner stays 'syn' even when the same host made a few ordinary connections before.
   */
  private dominantKind(s: Source): ProbeKind {
    if (!s.kinds) return KINDS[s.kind0 === SYN_STACK ? CONNECT : s.kind0]!;
    const k = s.kinds;
    let best = SYN;
    let bestN = k[SYN]! + k[SYN_STACK]!;
    for (let i = 1; i < 9; i++) if (k[i]! > bestN) [best, bestN] = [i, k[i]!];
    if (best === SYN && k[SYN_STACK]! > 0 && k[SYN_STACK]! >= k[SYN]!) best = CONNECT;
    return KINDS[best]!;
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
