// The periodic `packets` event and the capture totals log line. Kernel counters are cumulative since the
// capture opened; each event carries the interval's share.
import type { EventBus } from '../core/bus.js';
import type { PacketsEvent } from '../core/events.js';
import { nowIso } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Stats } from '../core/stats.js';
import type { PacketCounters } from './counters.js';
import type { LiveSource } from './source.js';

export class PacketsReport {
  private lastDrop = 0;
  private lastIfdrop = 0;
  private lastAt = Date.now();
  private malformedTotal = 0;

  constructor(
    private readonly sensor: string,
    private readonly counters: PacketCounters,
    private readonly source: LiveSource,
    private readonly bus: EventBus,
    private readonly stats: Stats,
  ) {}

  /** Emits the counts since the last call as one packets event. */
  emit(): void {
    const now = Date.now();
    const c = this.counters.takeInterval();
    const drops = this.readDrops();
    this.malformedTotal += c.malformed;
    this.stats.set('capture_malformed_total', this.malformedTotal);
    const ev: PacketsEvent = {
      type: 'packets',
      ts: nowIso(now),
      sensor: this.sensor,
      interval_s: Math.round((now - this.lastAt) / 100) / 10,
      packets: c.packets,
      malformed: c.malformed,
      tcp: { all: c.tcp.all, syn: c.tcp.syn },
      udp: c.udp,
      ip_protocols: c.ip_protocols,
      ethertypes: c.ethertypes,
      // Capture evicts no sources: the daily table's owner (store/daily-csv.ts) adds its own as the event passes.
      drops: { ...drops, evicted_sources: 0 },
    };
    this.lastAt = now;
    this.bus.emit(ev);
  }

  /** Logs the running totals (packets, malformed, kernel and interface drops). */
  logTotals(log: Logger): void {
    this.readDrops();
    const { stats } = this;
    log.info(
      {
        packets: stats.get('capture_packets_total'),
        malformed: this.malformedTotal,
        kernel_drops: stats.get('capture_kernel_drops'),
        if_drops: stats.get('capture_if_drops'),
      },
      'capture totals',
    );
  }

  private readDrops(): { kernel: number; ifdrop: number } {
    const st = this.source.stats();
    this.stats.set('capture_kernel_drops', st.drop);
    this.stats.set('capture_if_drops', st.ifdrop);
    this.stats.set('capture_kernel_received', st.recv);
    const d = {
      kernel: Math.max(0, st.drop - this.lastDrop),
      ifdrop: Math.max(0, st.ifdrop - this.lastIfdrop),
    };
    this.lastDrop = st.drop;
    this.lastIfdrop = st.ifdrop;
    return d;
  }
}
