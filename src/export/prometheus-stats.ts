// Every shared counter (drops, sheds, write failures, blocks, tarpit...) as its own metric, created the first
// time a scrape sees it. Names ending in _total are counters, the rest gauges.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Stats } from '../core/stats.js';
import { PREFIX } from './prometheus-events.js';

/** A prom-client-safe metric name for a stats key (stats names are ours, but never trust a name). */
export const metricName = (stat: string): string =>
  PREFIX + stat.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(\d)/, '_$1');

export class StatsMetrics {
  private readonly fromStats = new Map<string, Gauge | Counter>();

  constructor(
    private readonly registry: Registry,
    private readonly stats: Stats,
  ) {}

  /** Copies every stats value into its metric; called before each scrape. */
  sync(): void {
    for (const [key, value] of this.stats.entries()) {
      const name = metricName(key);
      let m = this.fromStats.get(name);
      if (!m) {
        if (this.registry.getSingleMetric(name)) continue; // a labelled metric already owns this name
        const counter = name.endsWith('_total');
        const help = `tidewatch ${counter ? 'counter' : 'gauge'} ${key} (see docs/metrics.md)`;
        m = counter
          ? new Counter({ name, help, registers: [this.registry] })
          : new Gauge({ name, help, registers: [this.registry] });
        this.fromStats.set(name, m);
      }
      if (m instanceof Counter) {
        m.reset();
        if (value > 0) m.inc(value);
      } else m.set(value);
    }
  }
}
