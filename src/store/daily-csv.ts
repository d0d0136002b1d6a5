// The day's per-source rows as Tsusen's CSV (<data-dir>/daily/YYYY-MM-DD.csv, UTC day, space separated,
// header `proto dst_port dst_ip src_ip first_seen last_seen count`, unix seconds), rewritten every --flush
// and on exit, reloaded at start. The table itself is in src/daily/table.ts.
import { existsSync, mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import { countedVia } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { DailyTable, utcDay } from '../daily/table.js';
import { FilePart, retainMs } from './file-part.js';

/**
 * Feeds the table from probe events and rewrites today's CSV every --flush and on exit. Capture probes
 * when --capture is set, listener probes otherwise: one connection is never counted twice.
 */
export interface DailyCsvComponent extends Component {
  /** Rewrites the files now (what the --flush timer does). */
  flush(): Promise<void>;
  readonly table: DailyTable;
  /** The CSV files as a part of the data dir's quota (counters: pruned last). */
  readonly disk: FilePart;
}

export async function startDailyCsv(
  ctx: SensorContext,
  opts: { now?: () => number } = {},
): Promise<DailyCsvComponent> {
  const clock = opts.now ?? Date.now;
  const { cfg, bus, stats } = ctx;
  const log = ctx.log.child({ component: 'daily-csv' });
  const errors = new RateLimitedLog(log);
  const dir = join(cfg.dataDir, 'daily');
  mkdirSync(dir, { recursive: true });
  const table = new DailyTable({
    maxSources: cfg.maxSources,
    onEvict: () => stats.inc('daily_sources_evicted_total'),
  });
  const fileOf = (day: string): string => join(dir, `${day}.csv`);
  const disk = new FilePart({
    name: 'daily',
    tier: 'counters',
    root: dir,
    retainMs: retainMs(cfg, 'counters'),
  });
  const todayNow = (): string => utcDay(Math.floor(clock() / 1000));

  // Probes from a day already closed would overwrite its complete file with a partial one: dropped.
  let openDay = todayNow();
  const today = fileOf(openDay);
  if (existsSync(today)) {
    try {
      const r = table.load(today);
      log.info({ file: today, rows: r.rows, skipped: r.skipped }, 'daily CSV reloaded');
    } catch (err) {
      log.error({ err, file: today }, 'daily CSV could not be reloaded; starting the day empty');
    }
  }

  const offPackets = addEvictionsToPackets(bus, table);
  const via = countedVia(cfg);
  const offProbes = bus.on('probe', (p) => {
    if (p.via !== via) return;
    if (utcDay(Math.floor(p.time / 1000)) < openDay) {
      stats.inc('daily_late_probes_total');
      return;
    }
    table.add(p);
  });

  let running: Promise<void> | null = null;
  const flush = async (): Promise<void> => {
    const now = todayNow();
    // Today's file always exists (header only on a quiet day), so a reader can tell "nothing" from "not running".
    for (const day of new Set([...table.days(), now])) {
      try {
        await table.write(fileOf(day), day);
        disk.replaced(fileOf(day), (await stat(fileOf(day))).size);
      } catch (err) {
        stats.inc('daily_csv_write_errors_total');
        errors.error('write', { err, day }, 'daily CSV write failed');
      }
    }
    if (now > openDay) {
      // UTC midnight passed: yesterday's file was just written for the last time.
      openDay = now;
      table.dropDaysBefore(now);
    }
    const size = table.size;
    stats.set('daily_sources', size.sources);
    stats.set('daily_rows', size.rows);
  };
  const tick = (): Promise<void> => {
    running ??= flush().finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => void tick(), Math.max(1000, cfg.flush));
  timer.unref();
  const off = (): void => {
    offProbes();
    offPackets();
  };

  const comp = component(
    'daily-csv',
    async () => {
      clearInterval(timer);
      off();
      if (running) await running;
      await flush();
    },
    () => {
      clearInterval(timer);
      off();
    },
  );
  return Object.assign(comp, { flush: tick, table, disk });
}

/**
 * The packets event (capture's interval report) carries the sources evicted in its interval: the table is
 * ours, so we add them as the event passes, before the exports started after us (sensor.ts) write it.
 */
function addEvictionsToPackets(bus: EventBus, table: DailyTable): () => void {
  let reported = table.evicted;
  return bus.on('packets', (ev) => {
    ev.drops.evicted_sources += table.evicted - reported;
    reported = table.evicted;
  });
}
