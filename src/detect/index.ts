// Scan detector, tool fingerprints and spike detector: reads probe/session events, emits scan and spike events.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startDetectors(_ctx: SensorContext): Promise<Component> {
  return component('detect', async () => {});
}

/**
 * Registered before the sinks: annotates session events with fingerprint tags (from the SYN headers that
 * capture saw for the same source) before they are written.
 * TODO(owner): filled in by the detection work stream.
 */
export async function startTagger(_ctx: SensorContext): Promise<Component> {
  return component('tagger', async () => {});
}
