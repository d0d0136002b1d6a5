// Prometheus metrics with prom-client: a registry that /metrics on --http serves.
// TODO(owner): entry point wired by sensor.ts; the metrics work stream fills it in.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export interface MetricsComponent extends Component {
  /** Text exposition format for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

export async function startMetrics(_ctx: SensorContext): Promise<MetricsComponent> {
  return {
    ...component('metrics', async () => {}),
    render: async () => ({ contentType: 'text/plain', body: '' }),
  };
}
