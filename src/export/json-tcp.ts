// Sends counters as raw_sock_port_mon's JSON lines to --json-tcp, spooling while the collector is down.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startJsonTcp(_ctx: SensorContext): Promise<Component> {
  return component('json-tcp', async () => {});
}
