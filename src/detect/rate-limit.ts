// Alert rate limit: a token bucket refilled continuously to `perMinute` tokens per minute (burst = perMinute).
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perMinute: number,
    now: number,
  ) {
    this.tokens = perMinute;
    this.last = now;
  }

  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.perMinute, this.tokens + (elapsed * this.perMinute) / 60_000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
