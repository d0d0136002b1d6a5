// Live libpcap capture on --capture: decodes batches, counts, emits packets, source and probe events.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startCapture(_ctx: SensorContext): Promise<Component> {
  return component('capture', async () => {});
}
