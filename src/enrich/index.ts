// Adds geo {cc, asn, org} to session and scan events from mmdb/CSV data shipped in npm packages.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startEnricher(_ctx: SensorContext): Promise<Component> {
  return component('enrich', async () => {});
}
