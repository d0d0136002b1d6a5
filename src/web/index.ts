// HTTP server on --http: dashboard, JSON API under /api/, /metrics.
// TODO(owner): entry point wired by sensor.ts; the web work stream fills it in.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';
import type { MetricsComponent } from '../export/prometheus.js';
import type { StoreComponent } from '../store/index.js';

export interface WebDeps {
  store?: StoreComponent;
  metrics: MetricsComponent;
}

export async function startWeb(_ctx: SensorContext, _deps: WebDeps): Promise<Component> {
  return component('web', async () => {});
}
