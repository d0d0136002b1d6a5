// How many TLS handshakes the listener completes: each costs a private-key signature on the event loop, so a
// ClientHello flood must not buy unbounded CPU. Counted per second, per source address and in total.
// Fixed one-second windows: O(1) per hello, and the per-source map holds only sources admitted in the
// current second, so it never exceeds the total budget.
export class HandshakeBudget {
  private window = -1;
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    /** --tls-handshake-rate: handshakes per second in total. */
    private readonly perSecond: number,
    /** --tls-handshake-rate-source: handshakes per second from one address. */
    private readonly perSourcePerSecond: number,
  ) {}

  /** True when a handshake with `src` fits the budget now (and then counts it). */
  admit(src: string, now = Date.now()): boolean {
    const w = Math.floor(now / 1000);
    if (w !== this.window) {
      this.window = w;
      this.total = 0;
      this.bySource.clear();
    }
    if (this.total >= this.perSecond) return false;
    const n = this.bySource.get(src) ?? 0;
    if (n >= this.perSourcePerSecond) return false;
    this.bySource.set(src, n + 1);
    this.total++;
    return true;
  }
}
