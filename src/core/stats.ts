// Named counters shared by all components (drops, sheds, write failures...). /metrics and the log read them;
// names are listed in docs/metrics.md. Plain numbers: cheap enough for hot paths.
export class Stats {
  private readonly values = new Map<string, number>();

  inc(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  set(name: string, value: number): void {
    this.values.set(name, value);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.values.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}
