// Live libpcap capture on --capture: counts every incoming packet beside the listener, emits probe events
// (only when someone listens) and a periodic `packets` event with the interval's counters and drops.
import type { SensorContext } from '../core/context.js';
import type { ProbeEvent } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { PacketCounters } from './counters.js';
import { watchOwnAddresses } from './own-addresses.js';
import { PacketsReport } from './packets-report.js';
import { LiveSource } from './source.js';

export async function startCapture(ctx: SensorContext): Promise<Component> {
  const { cfg, bus, stats } = ctx;
  const log = ctx.log.child({ component: 'capture' });
  const onProbe = (p: ProbeEvent): void => void (bus.hasListeners('probe') && bus.emit(p));
  const counters = new PacketCounters({
    excludePrivate: cfg.excludePrivate,
    onlyDst: [...cfg.onlyDst],
    onProbe,
  });
  const stopWatch = watchOwnAddresses((addrs) => {
    counters.setOwnAddresses(addrs);
    log.debug({ addrs }, 'own addresses');
  });
  let source: LiveSource;
  try {
    source = new LiveSource({ iface: cfg.capture, filter: cfg.filter });
  } catch (err) {
    stopWatch();
    throw err;
  }
  const decodeErrors = new RateLimitedLog(log);
  source.start((buf, count, linktype) => {
    try {
      counters.addBatch(buf, count, linktype);
    } catch (err) {
      stats.inc('capture_batch_errors_total'); // a decoder bug must not take the sensor down: lost, counted
      decodeErrors.error('decode', { err }, 'batch decode failed (logged at most once a minute)');
    }
    stats.inc('capture_packets_total', count);
    stats.inc('capture_batches_total');
  });
  log.info(
    { iface: cfg.capture, filter: cfg.filter || undefined, linktype: source.linktype },
    'capture started',
  );

  const report = new PacketsReport(cfg.sensor, counters, source, bus, stats);
  const reportTimer = setInterval(() => report.emit(), cfg.reportInterval);
  const summaryTimer = setInterval(() => report.logTotals(log), cfg.flush);
  reportTimer.unref();
  summaryTimer.unref();

  const stop = (): void => {
    clearInterval(reportTimer);
    clearInterval(summaryTimer);
    stopWatch();
  };
  return component(
    'capture',
    async () => {
      stop();
      await source.drain();
      report.emit();
      source.close();
    },
    () => {
      stop();
      source.close();
    },
  );
}
