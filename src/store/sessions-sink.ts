// Writes session events as JSON lines under the data dir (--sessions-file).
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startSessionsSink(_ctx: SensorContext): Promise<Component> {
  return component('sessions-sink', async () => {});
}
