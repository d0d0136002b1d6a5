// Sends capture counters as raw_sock_port_mon's JSON lines to --json-tcp HOST:PORT (Logstash, Fluentd,
// Vector, rsyslog imtcp). On each `packets` event: one line per non-zero counter,
//   {"new_all":"New"|"All","Value_source":"TCP"|"UDP"|"ETH"|"IP","Value_type":"Port"|"DIX"|"Proto",
//    "Port":N,"Count":N,"ts":"…","sensor":"…"}
// with ports and ethertypes as numbers in host order (raw_sock_port_mon sent ethertypes byte-swapped).
// Every line goes through a bounded disk spool (src/export/spool.ts): while the collector is down lines
// wait there and go out in order when it returns (src/export/json-tcp-sender.ts); overflow is counted.
import { join } from 'node:path';
import { parseHostPort } from '../config/units.js';
import type { SensorContext } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import type { PacketsEvent } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { JsonTcpSender } from './json-tcp-sender.js';
import type { DiskPart } from '../store/disk-quota.js';
import { DiskSpool, spoolPart } from './spool.js';

export interface JsonTcpLine {
  new_all: 'New' | 'All';
  Value_source: 'TCP' | 'UDP' | 'ETH' | 'IP';
  Value_type: 'Port' | 'DIX' | 'Proto';
  Port: number;
  Count: number;
  ts: string;
  sensor: string;
}

/** The lines of one packets event, in a stable order: TCP New, TCP All, UDP, IP, ETH; ports ascending. */
export function linesOf(ev: PacketsEvent): string[] {
  const out: string[] = [];
  const tail = `,"ts":${JSON.stringify(ev.ts)},"sensor":${JSON.stringify(ev.sensor)}}`;
  const add = (
    newAll: JsonTcpLine['new_all'],
    src: JsonTcpLine['Value_source'],
    type: JsonTcpLine['Value_type'],
    counts: Record<string, number>,
    key: (k: string) => number,
  ): void => {
    const rows: [number, number][] = [];
    for (const [k, v] of Object.entries(counts)) {
      const port = key(k);
      if (v > 0 && Number.isInteger(port)) rows.push([port, v]);
    }
    rows.sort((a, b) => a[0] - b[0]);
    for (const [port, count] of rows)
      out.push(
        `{"new_all":"${newAll}","Value_source":"${src}","Value_type":"${type}","Port":${port},"Count":${count}${tail}`,
      );
  };
  const dec = (k: string): number => Number(k);
  add('New', 'TCP', 'Port', ev.tcp.syn, dec);
  add('All', 'TCP', 'Port', ev.tcp.all, dec);
  add('All', 'UDP', 'Port', ev.udp, dec);
  add('All', 'IP', 'Proto', ev.ip_protocols, dec);
  add('All', 'ETH', 'DIX', ev.ethertypes, (k) => parseInt(k, 16));
  return out;
}

/** How long close() tries to deliver what waits before leaving it in the spool for the next run. */
const CLOSE_FLUSH_MS = 3000;

export async function startJsonTcp(ctx: SensorContext): Promise<Component & { disk: DiskPart }> {
  const { cfg, bus, stats } = ctx;
  const log = ctx.log.child({ component: 'json-tcp' });
  // The loader checked the address; a context built without it (tests) gets the same one-line error.
  const addr = parseHostPort(cfg.jsonTcp);
  if (!addr)
    throw new ConfigError(
      `bad value for --json-tcp: "${cfg.jsonTcp}" is not HOST:PORT (for example 127.0.0.1:5170)`,
    );
  const { host, port } = addr;
  const spool = new DiskSpool(join(cfg.dataDir, 'spool'), 'json-tcp', cfg.spoolMax, (n) =>
    stats.inc('json_tcp_spool_overflow_total', n),
  );
  await spool.open();
  if (spool.pending()) log.info({ bytes: spool.pending() }, 'spooled lines from an earlier run');
  const sender = new JsonTcpSender(host, port, spool, log, stats);

  const off = bus.on('packets', (ev) => {
    const lines = linesOf(ev);
    if (!lines.length) return;
    stats.inc('json_tcp_lines_total', lines.length);
    void spool.append(lines).then(() => sender.pump());
  });
  sender.open();

  const c = component(
    'json-tcp',
    async () => {
      off();
      // Let the final packets event (emitted by capture's close before ours) reach the collector.
      await spool.idle();
      const deadline = Date.now() + CLOSE_FLUSH_MS;
      while (sender.connected && spool.pending() > 0 && Date.now() < deadline) {
        await sender.pump();
        await new Promise((r) => setTimeout(r, 20));
      }
      await sender.end();
      await spool.close();
    },
    () => {
      off();
      sender.destroy();
      void spool.close();
    },
  );
  return { ...c, disk: spoolPart(spool, 'json_tcp_spool', stats) };
}
