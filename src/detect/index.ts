// Scan detector, tool fingerprints and spike detector: reads probe/session events, emits scan and spike events.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startDetectors(_ctx: SensorContext): Promise<Component> {
  return component('detect', async () => {});
}
