// Probe types of a source's activity, counted compactly: the kind of the only probe so far, then one count per
// kind. A scan event reports them as probe_types (count per type) and probe (the most frequent type).
import type { ProbeKind } from '../core/events.js';

export const KINDS: readonly ProbeKind[] = [
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
  // kernel sends for connect(); raw scanner templates carry none or MSS only. Reported as 'connect'.
  'connect',
];
export const KIND_INDEX = new Map(KINDS.slice(0, 9).map((k, i) => [k, i]));
export const SYN = 0;
export const CONNECT = 7;
export const OTHER = 8;
export const SYN_STACK = 9;

/** Ties go to the earlier type here: a connect() scan whose SYNs equal a raw scan's is a connect scan. */
const REPORT_ORDER = [CONNECT, SYN, 1, 2, 3, 4, 5, 6, OTHER];

export type ProbeTypes = Partial<Record<ProbeKind, number>>;

/** Per-kind counts of one source's activity; most sources send one probe, so no array until a second kind. */
export class KindTally {
  /** Probes of kind0 while all probes had that kind. */
  n0 = 1;
  counts: number[] | undefined;
  constructor(public kind0: number) {}

  /** Starts over with one probe of `kind` (a new activity). */
  reset(kind: number, n = 1): void {
    this.kind0 = kind;
    this.n0 = n;
    this.counts = undefined;
  }

  /** Counts one probe; true when its reported type had no probe yet. */
  add(kind: number): boolean {
    const isNew = this.reported(kind) === 0;
    if (this.counts) this.counts[kind]!++;
    else if (kind === this.kind0) this.n0++;
    else {
      this.split();
      this.counts![kind]!++;
    }
    return isNew;
  }

  /** Moves one probe from kind `from` to kind `to` (a SYN that turned out to be a completed handshake). */
  relabel(from: number, to: number): void {
    if (!this.counts && this.kind0 === from && this.n0 <= 1) this.kind0 = to;
    else {
      if (!this.counts) this.split();
      const c = this.counts!;
      if (c[from]! > 0) {
        c[from]!--;
        c[to]!++;
      }
    }
  }

  count(kind: number): number {
    return this.counts ? this.counts[kind]! : kind === this.kind0 ? this.n0 : 0;
  }

  get total(): number {
    return this.counts ? this.counts.reduce((a, b) => a + b, 0) : this.n0;
  }

  /** Probes of a reported type: connect counts kernel-stack SYNs too. */
  reported(kind: number): number {
    const k = kind === SYN_STACK ? CONNECT : kind;
    return this.count(k) + (k === CONNECT ? this.count(SYN_STACK) : 0);
  }

  /** Count per reported type, types without probes left out. */
  types(): ProbeTypes {
    const out: ProbeTypes = {};
    for (let k = 0; k < 9; k++) {
      const n = this.reported(k);
      if (n > 0) out[KINDS[k]!] = n;
    }
    return out;
  }

  /**
   * The most frequent reported type. Kernel-stack SYNs count as connect: only an operating system's TCP stack
   * sends them, raw scanner templates carry no options or MSS only (fixtures/scanner-packets.ts), so nmap -sT
   * reports connect also when its handshakes reset before accept() could name the peer; a raw SYN scanner
   * stays 'syn' even when the same host made a few ordinary connections before.
   */
  mostFrequent(): ProbeKind {
    let best = REPORT_ORDER[0]!;
    let bestN = -1;
    for (const k of REPORT_ORDER) {
      const n = this.reported(k);
      if (n > bestN) [best, bestN] = [k, n];
    }
    return KINDS[best]!;
  }

  private split(): void {
    this.counts = new Array<number>(KINDS.length).fill(0);
    this.counts[this.kind0] = this.n0;
  }
}
