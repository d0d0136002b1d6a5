// Prometheus metrics with prom-client: one registry per sensor that GET /metrics on --http serves.
// Cardinality is bounded everywhere: proto and probe labels come from closed sets, tool names are capped,
// ports get their own label only for the first --metrics-top-ports busiest ports (the rest are "other"),
// and every ctx.stats counter is exported under its own name (no labels) at scrape time.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { SensorContext } from '../core/context.js';
import { countedVia } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { EventMetrics, PREFIX } from './prometheus-events.js';
import { IntelMetrics } from './prometheus-intel.js';
import { StatsMetrics } from './prometheus-stats.js';

export interface MetricsComponent extends Component {
  /** Text exposition format for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

export async function startMetrics(ctx: SensorContext): Promise<MetricsComponent> {
  const { bus, cfg, stats } = ctx;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  // Attempts come from capture when it runs (it sees every SYN and datagram); otherwise from the listener.
  // Counting both would count each accepted connection twice.
  const offs = [
    ...new EventMetrics(registry, bus, cfg.metricsTopPorts).subscribe(bus, countedVia(cfg)),
    ...new IntelMetrics(registry).subscribe(bus),
  ];
  const fromStats = new StatsMetrics(registry, stats);
  return {
    ...component('metrics', async () => {
      for (const off of offs) off();
    }),
    async render() {
      fromStats.sync();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
