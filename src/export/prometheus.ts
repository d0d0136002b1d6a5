// Prometheus metrics with prom-client: one registry per sensor that GET /metrics on --http serves.
// Cardinality is bounded everywhere: proto and probe labels come from closed sets, tool names are capped,
// ports get their own label only for the first --metrics-top-ports busiest ports (the rest are "other"),
// and every ctx.stats counter is exported under its own name (no labels) at scrape time.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SensorContext } from '../core/context.js';
import type { PacketsEvent } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { PortCounts } from './prometheus-ports.js';

export interface MetricsComponent extends Component {
  /** Text exposition format for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

export const PREFIX = 'tidewatch_';
const PROBES = new Set(['syn', 'fin', 'null', 'xmas', 'ack', 'maimon', 'udp', 'connect', 'other']);
const SESSION_PROTOS = new Set(['tcp', 'tls', 'udp']);
/** Distinct tool label values at most; later new names count as "other". */
const MAX_TOOLS = 32;
const IP_PROTO_NAMES: Record<string, string> = {
  '1': 'icmp',
  '6': 'tcp',
  '17': 'udp',
  '58': 'icmpv6',
  icmp: 'icmp',
  tcp: 'tcp',
  udp: 'udp',
  icmpv6: 'icmpv6',
  'ipv6-icmp': 'icmpv6',
};

const sum = (r: Record<string, number> | undefined): number =>
  r ? Object.values(r).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) : 0;

/** A prom-client-safe metric name for a stats key (stats names are ours, but never trust a name). */
export const metricName = (stat: string): string =>
  PREFIX + stat.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(\d)/, '_$1');

export async function startMetrics(ctx: SensorContext): Promise<MetricsComponent> {
  const { bus, cfg, stats } = ctx;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const packets = new Counter({
    name: `${PREFIX}packets_total`,
    help: 'Packets counted by capture, by IP protocol (tcp, udp, icmp, icmpv6, other)',
    labelNames: ['proto'],
    registers: [registry],
  });
  const sessions = new Counter({
    name: `${PREFIX}sessions_total`,
    help: 'Sessions recorded by the listener, by protocol (tcp, tls, udp)',
    labelNames: ['proto'],
    registers: [registry],
  });
  const bytes = new Counter({
    name: `${PREFIX}session_bytes_total`,
    help: 'Bytes received in listener sessions, by protocol (tcp, tls, udp)',
    labelNames: ['proto'],
    registers: [registry],
  });
  const scans = new Counter({
    name: `${PREFIX}scans_total`,
    help: 'Scan episodes detected, by tool fingerprint and probe type',
    labelNames: ['tool', 'probe'],
    registers: [registry],
  });
  const spikes = new Counter({
    name: `${PREFIX}spikes_total`,
    help: 'Spikes raised, by protocol',
    labelNames: ['proto'],
    registers: [registry],
  });
  const blockEvents = new Counter({
    name: `${PREFIX}block_events_total`,
    help: 'Block decisions, by action (added, expired, dry-run, refused)',
    labelNames: ['action'],
    registers: [registry],
  });
  const captureDrops = new Counter({
    name: `${PREFIX}capture_drops_total`,
    help: 'Packets lost by capture before it saw them, by reason (kernel, ifdrop)',
    labelNames: ['reason'],
    registers: [registry],
  });
  new Counter({
    name: `${PREFIX}bus_subscriber_errors_total`,
    help: 'Event subscribers that threw (a bug; each is logged)',
    registers: [registry],
    collect() {
      this.reset();
      if (bus.subscriberErrors > 0) this.inc(bus.subscriberErrors);
    },
  });

  const attempts = new PortCounts(cfg.metricsTopPorts);
  new Counter({
    name: `${PREFIX}connection_attempts_total`,
    help: `Connection attempts by protocol and destination port; only the ${cfg.metricsTopPorts} busiest ports get their own label, the rest are port="other"`,
    labelNames: ['proto', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { proto, port, count } of attempts.series()) this.inc({ proto, port }, count);
    },
  });

  // Attempts come from capture when it runs (it sees every SYN and datagram); otherwise from the listener.
  // Counting both would count each accepted connection twice.
  const attemptsVia = cfg.capture ? 'capture' : 'listener';
  const offs = [
    bus.on('probe', (p) => {
      if (p.via !== attemptsVia) return;
      if (p.proto === 'tcp' && p.kind === 'connect' && attemptsVia === 'capture') return;
      attempts.inc(p.proto, p.dport);
    }),
    bus.on('session', (s) => {
      const proto = SESSION_PROTOS.has(s.proto) ? s.proto : 'tcp';
      sessions.inc({ proto });
      if (Number.isFinite(s.bytes) && s.bytes > 0) bytes.inc({ proto }, s.bytes);
    }),
    bus.on('packets', (p) => countPackets(p)),
    bus.on('scan', (s) => {
      if (s.state !== 'open') return;
      scans.inc({ tool: toolLabel(s.tool), probe: PROBES.has(s.probe) ? s.probe : 'other' });
    }),
    bus.on('spike', (s) => spikes.inc({ proto: s.proto === 'udp' ? 'udp' : 'tcp' })),
    bus.on('block', (b) => blockEvents.inc({ action: b.action })),
  ];

  const tools = new Set<string>();
  function toolLabel(tool: string | undefined): string {
    if (!tool) return 'unknown';
    const t = tool
      .toLowerCase()
      .replace(/[^a-z0-9_.-]/g, '_')
      .slice(0, 32);
    if (tools.has(t)) return t;
    if (tools.size >= MAX_TOOLS) return 'other';
    tools.add(t);
    return t;
  }

  // packets events carry the counts of one interval (deltas), so they are added up here.
  function countPackets(p: PacketsEvent): void {
    const byProto = new Map<string, number>();
    const ipp = Object.entries(p.ip_protocols ?? {});
    if (ipp.length) {
      for (const [k, v] of ipp) {
        const name = IP_PROTO_NAMES[k.toLowerCase()] ?? 'other';
        byProto.set(name, (byProto.get(name) ?? 0) + (Number.isFinite(v) ? v : 0));
      }
    } else {
      byProto.set('tcp', sum(p.tcp?.all));
      byProto.set('udp', sum(p.udp));
    }
    for (const [proto, n] of byProto) if (n > 0) packets.inc({ proto }, n);
    // drops.evicted_sources is a running total, exported from ctx.stats (daily_sources_evicted_total).
    for (const reason of ['kernel', 'ifdrop'] as const) {
      const n = p.drops?.[reason];
      if (typeof n === 'number' && n > 0) captureDrops.inc({ reason }, n);
    }
  }

  // Every shared counter (drops, sheds, write failures, blocks, tarpit...) as its own metric, created the first
  // time a scrape sees it. Names ending in _total are counters, the rest gauges.
  const fromStats = new Map<string, Gauge | Counter>();
  function syncStats(): void {
    for (const [key, value] of stats.entries()) {
      const name = metricName(key);
      let m = fromStats.get(name);
      if (!m) {
        if (registry.getSingleMetric(name)) continue; // a labelled metric above already owns this name
        const counter = name.endsWith('_total');
        const help = `tidewatch ${counter ? 'counter' : 'gauge'} ${key} (see docs/metrics.md)`;
        m = counter
          ? new Counter({ name, help, registers: [registry] })
          : new Gauge({ name, help, registers: [registry] });
        fromStats.set(name, m);
      }
      if (m instanceof Counter) {
        m.reset();
        if (value > 0) m.inc(value);
      } else m.set(value);
    }
  }

  return {
    ...component('metrics', async () => {
      for (const off of offs) off();
    }),
    async render() {
      syncStats();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
