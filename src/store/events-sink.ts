// Writes scan and spike events to <data-dir>/events/%Y-%m-%d.jsonl.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startEventsSink(_ctx: SensorContext): Promise<Component> {
  return component('events-sink', async () => {});
}
