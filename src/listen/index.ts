// Accepts TCP/TLS/UDP sessions on every configured port (ports or tproxy mode) and emits session and probe(connect) events.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startListener(_ctx: SensorContext): Promise<Component> {
  return component('listener', async () => {});
}
