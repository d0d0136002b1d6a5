// Writes scan, spike, block and campaign events as JSON lines to <data-dir>/events/%Y-%m-%d.jsonl (UTC day files), one
// object per line exactly as on the event bus (docs/events.md). Reopens on SIGHUP; never blocks the loop.
import { join } from 'node:path';
import type { SensorContext } from '../core/context.js';
import { component } from '../core/lifecycle.js';
import { FilePart, retainMs } from './file-part.js';
import { JsonlWriter } from './jsonl.js';
import type { FileSinkComponent } from './sessions-sink.js';

export const EVENTS_PATTERN = 'events/%Y-%m-%d.jsonl';

export async function startEventsSink(ctx: SensorContext): Promise<FileSinkComponent> {
  const disk: FilePart = new FilePart({
    ...{ name: 'events', tier: 'data', retainMs: retainMs(ctx.cfg, 'data') },
    root: join(ctx.cfg.dataDir, 'events'),
    onRemoved: () => writer.reopen(),
  });
  const writer = new JsonlWriter(ctx, {
    ...{ pattern: EVENTS_PATTERN, name: 'events' },
    onWrite: (path, bytes) => disk.added(path, bytes),
  });
  const offScan = ctx.bus.on('scan', (ev) => writer.write(ev));
  const offSpike = ctx.bus.on('spike', (ev) => writer.write(ev));
  const offBlock = ctx.bus.on('block', (ev) => writer.write(ev));
  const offCampaign = ctx.bus.on('campaign', (ev) => writer.write(ev));
  const c = component(
    'events-sink',
    async () => {
      offScan();
      offSpike();
      offBlock();
      offCampaign();
      await writer.close();
    },
    () => {
      offScan();
      offSpike();
      offBlock();
      offCampaign();
      void writer.close();
    },
  );
  return { ...c, reopen: () => writer.reopen(), disk };
}
