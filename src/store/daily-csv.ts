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
  const dir = join(cfg.dataDir, 'daily');
  mkdirSync(dir, { recursive: true });
  const table = new DailyTable({
    maxSources: cfg.maxSources,
    onEvict: () => stats.inc('daily_sources_evicted_total'),
  });
  const fileOf = (day: string): string => join(dir, `${day}.csv`);
  const retain = retainMs(cfg, 'counters');
  const disk = new FilePart({ name: 'daily', tier: 'counters', root: dir, retainMs: retain });
  const todayNow = (): string => utcDay(Math.floor(clock() / 1000));

  // Probes from a day already closed would overwrite its complete file with a partial one: dropped.
  let openDay = todayNow();
  reloadDay(table, fileOf(openDay), log);

  const offPackets = addEvictionsToPackets(bus, table);
  const offProbes = countProbes(ctx, table, () => openDay);

  const writeErrors = new RateLimitedLog(log);
  let running: Promise<void> | null = null;
  const flush = async (): Promise<void> => {
    const now = todayNow();
    await writeDays(table, now, fileOf, disk, (err, day) => {
      stats.inc('daily_csv_write_errors_total');
      writeErrors.error('write', { err, day }, 'daily CSV write failed');
    });
    if (now > openDay) {
      // UTC midnight passed: yesterday's file was just written for the last time.
      openDay = now;
      table.dropDaysBefore(now);
    }
    const { sources, rows } = table.size;
    stats.set('daily_sources', sources);
    stats.set('daily_rows', rows);
  };
  const tick = (): Promise<void> => {
    running ??= flush().finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => void tick(), Math.max(1000, cfg.flush));
  timer.unref();
  const off = (): void => {
    clearInterval(timer);
    offProbes();
    offPackets();
  };

  const comp = component(
    'daily-csv',
    async () => {
      off();
      if (running) await running;
      await flush();
    },
    off,
  );
  return Object.assign(comp, { flush: tick, table, disk });
}

/** Adds the counted source's probes to the table; a probe of a day already closed is dropped and counted. */
function countProbes(ctx: SensorContext, table: DailyTable, openDay: () => string): () => void {
  const via = countedVia(ctx.cfg);
  return ctx.bus.on('probe', (p) => {
    if (p.via !== via) return;
    if (utcDay(Math.floor(p.time / 1000)) < openDay()) {
      ctx.stats.inc('daily_late_probes_total');
      return;
    }
    table.add(p);
  });
}

/** Continues the day's counts from its file after a restart; a file that does not load starts it empty. */
function reloadDay(table: DailyTable, file: string, log: SensorContext['log']): void {
  if (!existsSync(file)) return;
  try {
    const r = table.load(file);
    log.info({ file, rows: r.rows, skipped: r.skipped }, 'daily CSV reloaded');
  } catch (err) {
    log.error({ err, file }, 'daily CSV could not be reloaded; starting the day empty');
  }
}

/**
 * Rewrites the file of every day the table holds, and today's: it always exists (header only on a quiet
 * day), so a reader can tell "nothing" from "not running". Tells the data dir's quota each new size.
 */
async function writeDays(
  table: DailyTable,
  today: string,
  fileOf: (day: string) => string,
  disk: FilePart,
  onError: (err: unknown, day: string) => void,
): Promise<void> {
  for (const day of new Set([...table.days(), today])) {
    const file = fileOf(day);
    try {
      await table.write(file, day);
      disk.replaced(file, (await stat(file)).size);
    } catch (err) {
      onError(err, day);
    }
  }
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
