// Wires sources → detectors → sinks (DESIGN §2). Annotators (geo, tags, intel) subscribe first so they complete
// events before any sink writes them, and the detector hands scan events to the block policy before emitting
// them; sinks start before sources so nothing emitted is lost; sources stop first on close so their last
// events (open sessions, final counters) still reach open sinks.
import { EventBus } from './core/bus.js';
import type { SensorContext } from './core/context.js';
import type { Component } from './core/lifecycle.js';
import { RateLimitedLog, type Logger } from './core/log.js';
import { Stats } from './core/stats.js';
import type { Config } from './config/schema.js';
import { startCapture } from './capture/index.js';
import { startCampaigns } from './detect/campaigns.js';
import { startDetectors, startTagger } from './detect/index.js';
import { startEnricher } from './enrich/index.js';
import { startJsonTcp } from './export/json-tcp.js';
import { startMetrics } from './export/prometheus.js';
import { startBlocker } from './firewall/index.js';
import { claimDataDir } from './firewall/restart.js';
import { startIntel } from './intel/index.js';
import { capabilitiesFor, dropToUser, keepCapabilities } from './core/privileges.js';
import { startListener } from './listen/index.js';
import { startDailyCsv } from './store/daily-csv.js';
import { DiskQuota } from './store/disk-quota.js';
import { startEventsSink } from './store/events-sink.js';
import { openStore } from './store/index.js';
import { startRawFiles } from './store/raw-files.js';
import { startSessionsSink } from './store/sessions-sink.js';
import { startWeb } from './web/index.js';

export interface Sensor {
  readonly ctx: SensorContext;
  close(): Promise<void>;
  destroy(): void;
  reopen(): void;
}

/** The parts list of a sensor or a serve: closed in reverse order of start. */
function assembly(
  cfg: Config,
  log: Logger,
): { ctx: SensorContext; sensor: Sensor; add: (c?: Component) => void } {
  const bus = new EventBus();
  const ctx: SensorContext = { cfg, bus, log, stats: new Stats() };
  // A subscriber failing on one event may fail on every event an attacker sends: rate-limited.
  const subscriberErrors = new RateLimitedLog(log);
  bus.onError = (err) => subscriberErrors.error('subscriber', { err }, 'event subscriber failed');
  const parts: Component[] = [];
  const add = (c: Component | undefined): void => void (c && parts.push(c));
  const sensor: Sensor = {
    ctx,
    async close() {
      for (const c of [...parts].reverse()) {
        try {
          await c.close();
        } catch (err) {
          log.error({ err, component: c.name }, 'close failed');
          c.destroy();
        }
      }
    },
    destroy() {
      for (const c of [...parts].reverse()) c.destroy();
    },
    reopen() {
      for (const c of parts) c.reopen?.();
    },
  };
  return { ctx, sensor, add };
}

/** `tidewatch serve`: the dashboard and API over the fleet's ClickHouse, nothing else. */
export async function startServe(cfg: Config, log: Logger): Promise<Sensor> {
  const { ctx, sensor, add } = assembly(cfg, log);
  try {
    const { openClickHouseStore } = await import('./store/clickhouse/index.js');
    const store = await openClickHouseStore(ctx);
    add(store);
    const metrics = await startMetrics(ctx);
    add(metrics);
    add(await startWeb(ctx, { store, metrics }));
  } catch (err) {
    await sensor.close();
    throw err;
  }
  return sensor;
}

export async function startSensor(cfg: Config, log: Logger): Promise<Sensor> {
  const { ctx, sensor, add } = assembly(cfg, log);
  try {
    // The data dir's lock first (closed last): a killed run's firewall leftovers go before anything starts.
    add(await claimDataDir(ctx));
    // --user: the rest runs as that user, with only the capabilities it needs (docs/privileges.md).
    if (cfg.user) dropToUser(cfg, capabilitiesFor(cfg, 'start'));
    // Annotators and policy first.
    const enricher = cfg.geoip === 'on' ? await startEnricher(ctx) : undefined;
    add(enricher);
    const tagger = await startTagger(ctx);
    add(tagger);
    // intel after enrich and the tagger: it adds to their tags.
    const intel = await startIntel(ctx);
    add(intel);
    const blocker = cfg.block !== 'off' ? await startBlocker(ctx) : undefined;
    add(blocker);
    // Sinks.
    const store = cfg.store === 'sqlite' ? await openStore(ctx, { geo: enricher?.lookup }) : undefined;
    add(store);
    const sessions = await startSessionsSink(ctx);
    add(sessions);
    const events = await startEventsSink(ctx);
    add(events);
    const raw = cfg.rawFiles ? await startRawFiles(ctx) : undefined;
    add(raw);
    // The daily table adds its evictions to each packets event before the exports below write it.
    const daily = await startDailyCsv(ctx);
    add(daily);
    const jsonTcp = cfg.jsonTcp ? await startJsonTcp(ctx) : undefined;
    add(jsonTcp);
    // The ClickHouse client (~3 MB, 0.2 s to load) is loaded only when a ClickHouse is named.
    const clickhouse = cfg.clickhouse
      ? await (
          await import('./export/clickhouse/index.js')
        ).startClickHouseShipper(ctx, { geo: enricher?.lookup })
      : undefined;
    add(clickhouse);
    // The quota of the whole data dir (--max-disk): every sink that writes there is a part, registered in
    // the order a day's data is pruned (docs/store.md); the counters tier (store, daily CSVs) goes last.
    const quota = new DiskQuota({
      maxDisk: cfg.maxDisk,
      stats: ctx.stats,
      log: log.child({ component: 'disk' }),
    });
    for (const sink of [raw, sessions, store, events, jsonTcp, clickhouse, daily]) quota.add(sink?.disk);
    add(quota.start());
    const metrics = await startMetrics(ctx);
    add(metrics);
    // Detectors, then sources, then the web server.
    // The detector hands every scan episode to the block policy, also those the alert budget keeps back,
    // and reads the tagger's memory for the tags its scan events carry; benign research scanners under
    // --benign-scanners ignore are counted but never judged nor reported.
    add(
      await startDetectors(ctx, {
        judge: blocker?.judge,
        tagsFor: tagger.tagsFor,
        ignoreSource: intel.ignored,
      }),
    );
    add(await startCampaigns(ctx, { firstSeenOf: store?.firstSeenOf }));
    if (cfg.capture) add(await startCapture(ctx));
    if (cfg.listen !== 'off') add(await startListener(ctx));
    if (cfg.http !== 'off') add(await startWeb(ctx, { store, metrics }));
    // Every port is bound: CAP_NET_BIND_SERVICE goes.
    if (cfg.user) keepCapabilities(capabilitiesFor(cfg, 'running'));
  } catch (err) {
    await sensor.close();
    throw err;
  }
  return sensor;
}
