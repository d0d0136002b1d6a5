// Connection attempts per (proto, port) with a bounded label set for /metrics. Exact counts for all 2×65536
// ports live in two typed arrays (1 MiB); at scrape time the busiest ports are given their own label, up to
// --metrics-top-ports. A label once given is kept (a series that vanished and came back would look like a
// counter reset), so after the first N the set is fixed and port="other" carries everything else.
// port="other" drops once each time a port is promoted (at most N times per process).
export interface PortSeries {
  proto: 'tcp' | 'udp';
  port: string;
  count: number;
}

export class PortCounts {
  private readonly counts = { tcp: new Float64Array(65536), udp: new Float64Array(65536) };
  private readonly totals = { tcp: 0, udp: 0 };
  /** Labelled ports, key proto*65536+port. */
  private readonly labelled = new Set<number>();

  constructor(private readonly topN: number) {}

  inc(proto: 'tcp' | 'udp', port: number): void {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return;
    this.counts[proto][port]!++;
    this.totals[proto]++;
  }

  private promote(): void {
    const free = this.topN - this.labelled.size;
    if (free <= 0) return;
    // Candidates: unlabelled ports with counts, busiest first. A linear pass over 131072 slots per scrape.
    const cand: [number, number][] = [];
    (['tcp', 'udp'] as const).forEach((proto, pi) => {
      const arr = this.counts[proto];
      for (let port = 0; port < 65536; port++) {
        const key = pi * 65536 + port;
        if (arr[port]! > 0 && !this.labelled.has(key)) cand.push([key, arr[port]!]);
      }
    });
    cand.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [key] of cand.slice(0, free)) this.labelled.add(key);
  }

  series(): PortSeries[] {
    this.promote();
    const out: PortSeries[] = [];
    const labelledSum = { tcp: 0, udp: 0 };
    for (const key of [...this.labelled].sort((a, b) => a - b)) {
      const proto = key < 65536 ? 'tcp' : 'udp';
      const port = key % 65536;
      const count = this.counts[proto][port]!;
      labelledSum[proto] += count;
      out.push({ proto, port: String(port), count });
    }
    for (const proto of ['tcp', 'udp'] as const) {
      const other = this.totals[proto] - labelledSum[proto];
      if (other > 0) out.push({ proto, port: 'other', count: other });
    }
    return out;
  }
}
