// Writes TachyonNet's raw per-connection files (--raw-files).
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startRawFiles(_ctx: SensorContext): Promise<Component> {
  return component('raw-files', async () => {});
}
