// Adds geo {cc, asn, org} to session and scan events. Subscribed before every sink (sensor.ts), so sinks see
// completed events. The data is range tables built at build time and read from disk per look-up (geo.ts):
// opening them takes a few milliseconds. No network look-up ever happens per event.
import type { SensorContext } from '../core/context.js';
import type { Geo } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { GeoDb } from './geo.js';

export interface EnricherComponent extends Component {
  /** The geo of an address (sensor.ts hands it to the store for sources seen only as probes). */
  readonly lookup: (ip: string) => Geo | undefined;
}

export async function startEnricher(ctx: SensorContext): Promise<EnricherComponent> {
  const log = ctx.log.child({ component: 'enrich' });
  const db = new GeoDb();
  const started = Date.now();
  try {
    db.load();
    ctx.stats.set('enrich_loaded', 1);
    log.info({ ms: Date.now() - started, ...db.sizes }, 'geo data loaded');
  } catch (err) {
    // Without its data the sensor still runs: events simply carry no geo.
    ctx.stats.inc('enrich_load_errors_total');
    log.error({ err }, 'geo data could not be loaded: events will carry no country or ASN');
  }
  const lookup = (ip: string): Geo | undefined => {
    const g = db.lookup(ip);
    if (g) ctx.stats.inc('enrich_hits_total');
    return g;
  };
  const offs = [
    ctx.bus.on('session', (ev) => {
      if (ev.geo) return;
      const g = lookup(ev.src);
      if (g) ev.geo = g;
    }),
    ctx.bus.on('scan', (ev) => {
      if (ev.geo) return;
      const g = lookup(ev.src);
      if (g) ev.geo = g;
    }),
  ];
  const stop = (): void => {
    for (const off of offs.splice(0)) off();
    db.close();
  };
  const comp = component('enrich', async () => stop(), stop);
  return Object.assign(comp, { lookup });
}
