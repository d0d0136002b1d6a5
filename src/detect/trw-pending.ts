// TCP connection attempts waiting for their TRW outcome, keyed by src:sport (flowKey) in one bounded Map whose
// insertion order is deadline order (a re-armed entry is re-inserted), so expiry only looks at the head.
// Outcomes (docs/detection.md): a session that sent data = success; a session without data = failure;
// a SYN never followed by a handshake within SYN_GRACE_MS = failure; a handshake whose session is still
// open after HANDSHAKE_GRACE_MS = no outcome (a long session is no evidence either way).
import type { Stats } from '../core/stats.js';
import { flowKey, type Key } from './lru.js';

export const SYN_GRACE_MS = 10_000;
export const HANDSHAKE_GRACE_MS = 30_000;
/** Attempts awaiting an outcome at most; more are not judged (counted as trw_pending_dropped_total). */
export const PENDING_CAP = 200_000;

interface Entry {
  deadline: number;
  handshake: boolean;
  src: string;
}

export class TrwPending {
  private readonly map = new Map<Key, Entry>();

  constructor(
    private readonly stats: Stats,
    private readonly cap = PENDING_CAP,
  ) {}

  get size(): number {
    return this.map.size;
  }

  add(src: string, sport: number, t: number, handshake: boolean): boolean {
    if (this.map.size >= this.cap) {
      this.stats.inc('trw_pending_dropped_total');
      return false;
    }
    const key = flowKey(src, sport);
    if (this.map.has(key)) return true; // a retransmitted SYN is the same attempt
    this.map.set(key, { deadline: t + (handshake ? HANDSHAKE_GRACE_MS : SYN_GRACE_MS), handshake, src });
    return true;
  }

  /** The listener completed the handshake of a pending SYN: wait longer for its session. True if found. */
  handshake(src: string, sport: number, t: number): boolean {
    const key = flowKey(src, sport);
    const e = this.map.get(key);
    if (!e || e.handshake) return false;
    this.map.delete(key);
    this.map.set(key, { deadline: t + HANDSHAKE_GRACE_MS, handshake: true, src });
    return true;
  }

  /** A session ended: true when it answers a pending attempt (its outcome is then the session's). */
  resolve(src: string, sport: number): boolean {
    return this.map.delete(flowKey(src, sport));
  }

  /** Expired attempts as [src, outcome]: false = failure, undefined = no outcome. */
  *expire(now: number): Generator<[string, boolean | undefined]> {
    for (const [key, e] of this.map) {
      if (e.deadline > now) return;
      this.map.delete(key);
      yield [e.src, e.handshake ? undefined : false];
    }
  }
}
