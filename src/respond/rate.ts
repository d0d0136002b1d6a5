// Fixed-window limits per key and in all (SSH key exchanges per second, UDP replies per source per minute).
// The per-key table is dropped at each new window and holds at most maxKeys keys, so memory is bounded
// however many sources there are; a key beyond that is refused.
export class WindowLimit {
  private start = 0;
  private total = 0;
  private readonly perKey = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxTotal: number,
    private readonly maxPerKey: number,
    private readonly maxKeys = 10_000,
  ) {}

  allow(key: string, now = Date.now()): boolean {
    if (now - this.start >= this.windowMs) {
      this.start = now;
      this.total = 0;
      this.perKey.clear();
    }
    const n = this.perKey.get(key) ?? 0;
    if (this.total >= this.maxTotal || n >= this.maxPerKey) return false;
    if (!n && this.perKey.size >= this.maxKeys) return false;
    this.perKey.set(key, n + 1);
    this.total++;
    return true;
  }
}
