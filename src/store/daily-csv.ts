// Keeps the day's per-source rows and rewrites <data-dir>/daily/YYYY-MM-DD.csv as Tsusen's.
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startDailyCsv(_ctx: SensorContext): Promise<Component> {
  return component('daily-csv', async () => {});
}
