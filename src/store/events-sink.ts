// Writes scan, spike and block events as JSON lines to <data-dir>/events/%Y-%m-%d.jsonl (UTC day files), one
// object per line exactly as on the event bus (docs/events.md). Reopens on SIGHUP; never blocks the loop.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';
import { JsonlWriter } from './jsonl.js';

export const EVENTS_PATTERN = 'events/%Y-%m-%d.jsonl';

export async function startEventsSink(ctx: SensorContext): Promise<Component> {
  const writer = new JsonlWriter(ctx, { pattern: EVENTS_PATTERN, name: 'events' });
  const offScan = ctx.bus.on('scan', (ev) => writer.write(ev));
  const offSpike = ctx.bus.on('spike', (ev) => writer.write(ev));
  const offBlock = ctx.bus.on('block', (ev) => writer.write(ev));
  const c = component(
    'events-sink',
    async () => {
      offScan();
      offSpike();
      offBlock();
      await writer.close();
    },
    () => {
      offScan();
      offSpike();
      offBlock();
      void writer.close();
    },
  );
  return { ...c, reopen: () => writer.reopen() };
}
