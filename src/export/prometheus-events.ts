// The labelled Prometheus counters fed by bus events: packets, sessions, scans, spikes, blocks, capture
// drops and connection attempts. Labels come from closed sets or capped ones, so cardinality is bounded.
import { Counter, type Registry } from 'prom-client';
import type { EventBus } from '../core/bus.js';
import type { PacketsEvent } from '../core/events.js';
import { PortCounts } from './prometheus-ports.js';

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

export class EventMetrics {
  private readonly packets: Counter;
  private readonly sessions: Counter;
  private readonly bytes: Counter;
  private readonly scans: Counter;
  private readonly spikes: Counter;
  private readonly blockEvents: Counter;
  private readonly captureDrops: Counter;
  private readonly attempts: PortCounts;
  private readonly tools = new Set<string>();

  constructor(registry: Registry, bus: EventBus, metricsTopPorts: number) {
    const counter = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name: PREFIX + name, help, labelNames, registers: [registry] });
    const byProto = 'by protocol (tcp, tls, udp)';
    this.packets = counter(
      'packets_total',
      'Packets counted by capture, by IP protocol (tcp, udp, icmp, icmpv6, other)',
      ['proto'],
    );
    this.sessions = counter('sessions_total', `Sessions recorded by the listener, ${byProto}`, ['proto']);
    this.bytes = counter('session_bytes_total', `Bytes received in listener sessions, ${byProto}`, ['proto']);
    this.scans = counter('scans_total', 'Scan episodes detected, by tool fingerprint and probe type', [
      'tool',
      'probe',
    ]);
    this.spikes = counter('spikes_total', 'Spikes raised, by protocol', ['proto']);
    this.blockEvents = counter(
      'block_events_total',
      'Block decisions, by action (added, expired, dry-run, refused)',
      ['action'],
    );
    this.captureDrops = counter(
      'capture_drops_total',
      'Packets lost by capture before it saw them, by reason (kernel, ifdrop)',
      ['reason'],
    );
    this.attempts = new PortCounts(metricsTopPorts);
    this.registerCollected(registry, bus, metricsTopPorts);
  }

  /** Counters read at scrape time: subscriber errors from the bus, attempts from the port counts. */
  private registerCollected(registry: Registry, bus: EventBus, metricsTopPorts: number): void {
    new Counter({
      name: `${PREFIX}bus_subscriber_errors_total`,
      help: 'Event subscribers that threw (a bug; each is logged)',
      registers: [registry],
      collect() {
        this.reset();
        if (bus.subscriberErrors > 0) this.inc(bus.subscriberErrors);
      },
    });
    const attempts = this.attempts;
    new Counter({
      name: `${PREFIX}connection_attempts_total`,
      help: `Connection attempts by protocol and destination port; only the ${metricsTopPorts} busiest ports get their own label, the rest are port="other"`,
      labelNames: ['proto', 'port'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { proto, port, count } of attempts.series()) this.inc({ proto, port }, count);
      },
    });
  }

  /** Subscribes to the bus; returns the unsubscribers. attemptsVia: the one source of attempts counted. */
  subscribe(bus: EventBus, attemptsVia: 'capture' | 'listener'): (() => void)[] {
    return [
      bus.on('probe', (p) => {
        if (p.via !== attemptsVia) return;
        if (p.proto === 'tcp' && p.kind === 'connect' && attemptsVia === 'capture') return;
        this.attempts.inc(p.proto, p.dport);
      }),
      bus.on('session', (s) => {
        const proto = SESSION_PROTOS.has(s.proto) ? s.proto : 'tcp';
        this.sessions.inc({ proto });
        if (Number.isFinite(s.bytes) && s.bytes > 0) this.bytes.inc({ proto }, s.bytes);
      }),
      bus.on('packets', (p) => this.countPackets(p)),
      bus.on('scan', (s) => {
        if (s.state !== 'open') return;
        this.scans.inc({ tool: this.toolLabel(s.tool), probe: PROBES.has(s.probe) ? s.probe : 'other' });
      }),
      bus.on('spike', (s) => this.spikes.inc({ proto: s.proto === 'udp' ? 'udp' : 'tcp' })),
      bus.on('block', (b) => this.blockEvents.inc({ action: b.action })),
    ];
  }

  private toolLabel(tool: string | undefined): string {
    if (!tool) return 'unknown';
    const t = tool
      .toLowerCase()
      .replace(/[^a-z0-9_.-]/g, '_')
      .slice(0, 32);
    if (this.tools.has(t)) return t;
    if (this.tools.size >= MAX_TOOLS) return 'other';
    this.tools.add(t);
    return t;
  }

  // packets events carry the counts of one interval (deltas), so they are added up here.
  private countPackets(p: PacketsEvent): void {
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
    for (const [proto, n] of byProto) if (n > 0) this.packets.inc({ proto }, n);
    // drops.evicted_sources is a running total, exported from ctx.stats (daily_sources_evicted_total).
    for (const reason of ['kernel', 'ifdrop'] as const) {
      const n = p.drops?.[reason];
      if (typeof n === 'number' && n > 0) this.captureDrops.inc({ reason }, n);
    }
  }
}
