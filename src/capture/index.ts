// Live libpcap capture on --capture: counts every incoming packet beside the listener, emits probe events
// (only when someone listens) and a periodic `packets` event with the interval's counters and drops.
import type { SensorContext } from '../core/context.js';
import type { PacketsEvent, ProbeEvent } from '../core/events.js';
import { nowIso } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { PacketCounters } from './counters.js';
import { watchOwnAddresses } from './own-addresses.js';
import { LiveSource } from './source.js';

type Counts = ReturnType<PacketCounters['takeInterval']>;

export async function startCapture(ctx: SensorContext): Promise<Component> {
  const { cfg, bus, stats } = ctx;
  const log = ctx.log.child({ component: 'capture' });
  const onProbe = (p: ProbeEvent): void => {
    if (bus.hasListeners('probe')) bus.emit(p);
  };
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
  source.start((buf, count, linktype) => {
    try {
      counters.addBatch(buf, count, linktype);
    } catch (err) {
      // A decoder bug must not take the sensor down; the batch is lost and counted.
      stats.inc('capture_batch_errors_total');
      log.error({ err }, 'batch decode failed');
    }
    stats.inc('capture_packets_total', count);
    stats.inc('capture_batches_total');
  });
  log.info(
    { iface: cfg.capture, filter: cfg.filter || undefined, linktype: source.linktype },
    'capture started',
  );

  // Kernel counters are cumulative since open; events carry the interval's share.
  let lastDrop = 0;
  let lastIfdrop = 0;
  let lastAt = Date.now();
  const readDrops = (): { kernel: number; ifdrop: number } => {
    const st = source.stats();
    stats.set('capture_kernel_drops', st.drop);
    stats.set('capture_if_drops', st.ifdrop);
    stats.set('capture_kernel_received', st.recv);
    const d = { kernel: Math.max(0, st.drop - lastDrop), ifdrop: Math.max(0, st.ifdrop - lastIfdrop) };
    lastDrop = st.drop;
    lastIfdrop = st.ifdrop;
    return d;
  };
  let malformedTotal = 0;
  let lastEvicted = stats.get('daily_sources_evicted_total');
  const emitPackets = (): void => {
    const now = Date.now();
    const c: Counts = counters.takeInterval();
    const drops = readDrops();
    // The daily table (src/store/daily-csv.ts) counts its evictions; the event carries the interval's.
    const evicted = stats.get('daily_sources_evicted_total');
    malformedTotal += c.malformed;
    stats.set('capture_malformed_total', malformedTotal);
    const ev: PacketsEvent = {
      type: 'packets',
      ts: nowIso(now),
      sensor: cfg.sensor,
      interval_s: Math.round((now - lastAt) / 100) / 10,
      packets: c.packets,
      malformed: c.malformed,
      tcp: { all: c.tcp.all, syn: c.tcp.syn },
      udp: c.udp,
      ip_protocols: c.ip_protocols,
      ethertypes: c.ethertypes,
      drops: { ...drops, evicted_sources: evicted - lastEvicted },
    };
    lastAt = now;
    lastEvicted = evicted;
    bus.emit(ev);
  };
  const report = setInterval(emitPackets, cfg.reportInterval);
  const summary = setInterval(() => {
    readDrops();
    log.info(
      {
        packets: stats.get('capture_packets_total'),
        malformed: malformedTotal,
        kernel_drops: stats.get('capture_kernel_drops'),
        if_drops: stats.get('capture_if_drops'),
      },
      'capture totals',
    );
  }, cfg.flush);
  report.unref();
  summary.unref();

  const stop = (): void => {
    clearInterval(report);
    clearInterval(summary);
    stopWatch();
  };
  return component(
    'capture',
    async () => {
      stop();
      await source.drain();
      emitPackets();
      source.close();
    },
    () => {
      stop();
      source.close();
    },
  );
}
