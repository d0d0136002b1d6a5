// Sends capture counters as raw_sock_port_mon's JSON lines to --json-tcp HOST:PORT (Logstash, Fluentd,
// Vector, rsyslog imtcp). On each `packets` event: one line per non-zero counter,
//   {"new_all":"New"|"All","Value_source":"TCP"|"UDP"|"ETH"|"IP","Value_type":"Port"|"DIX"|"Proto",
//    "Port":N,"Count":N,"ts":"…","sensor":"…"}
// with ports and ethertypes as numbers in host order (raw_sock_port_mon sent ethertypes byte-swapped).
// Every line goes through a bounded disk spool (src/export/spool.ts): while the collector is down lines
// wait there and go out in order when it returns; overflow is counted. Reconnects back off exponentially.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { SensorContext } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import type { PacketsEvent } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { DiskSpool } from './spool.js';

export interface JsonTcpLine {
  new_all: 'New' | 'All';
  Value_source: 'TCP' | 'UDP' | 'ETH' | 'IP';
  Value_type: 'Port' | 'DIX' | 'Proto';
  Port: number;
  Count: number;
  ts: string;
  sensor: string;
}

/** HOST:PORT or [V6]:PORT. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new ConfigError(
      `bad value for --json-tcp: ${JSON.stringify(s)}: write HOST:PORT, e.g. 127.0.0.1:5170`,
    );
  return { host: m[1]!, port };
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

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;
/** Bytes handed to the socket per write: whole lines, small enough to keep memory flat. */
const CHUNK_BYTES = 256 << 10;
/** How long close() tries to deliver what waits before leaving it in the spool for the next run. */
const CLOSE_FLUSH_MS = 3000;

export async function startJsonTcp(ctx: SensorContext): Promise<Component> {
  const { cfg, bus, stats } = ctx;
  const log = ctx.log.child({ component: 'json-tcp' });
  const limited = new RateLimitedLog(log);
  const { host, port } = parseHostPort(cfg.jsonTcp);
  const spool = new DiskSpool(join(cfg.dataDir, 'spool'), 'json-tcp', cfg.spoolMax, (n) =>
    stats.inc('json_tcp_spool_overflow_total', n),
  );
  await spool.open();
  if (spool.pending()) log.info({ bytes: spool.pending() }, 'spooled lines from an earlier run');

  let sock: Socket | undefined;
  let connected = false;
  let pumping = false;
  let closed = false;
  let backoff = BACKOFF_MIN_MS;
  let retry: NodeJS.Timeout | undefined;

  const scheduleConnect = (): void => {
    if (closed || retry) return;
    const delay = backoff * (0.75 + Math.random() * 0.5);
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    retry = setTimeout(() => {
      retry = undefined;
      open();
    }, delay);
    retry.unref();
  };

  const dropSocket = (s: Socket, why: string): void => {
    if (sock !== s) return;
    sock = undefined;
    if (connected) log.warn({ why }, 'collector connection lost; spooling');
    connected = false;
    s.destroy();
    stats.inc('json_tcp_disconnects_total');
    scheduleConnect();
  };

  function open(): void {
    if (closed || sock) return;
    const s = connect({ host, port });
    sock = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.on('connect', () => {
      // A collector port in the ephemeral range on this host, nobody listening: the kernel may connect
      // the socket to itself (TCP simultaneous open). Lines "sent" there would be lost; it also holds the
      // port the collector wants to bind. Treat it as a refused connection.
      if (s.localPort === s.remotePort && s.localAddress === s.remoteAddress) {
        stats.inc('json_tcp_self_connects_total');
        dropSocket(s, 'connected to itself: no collector listens');
        return;
      }
      connected = true;
      backoff = BACKOFF_MIN_MS;
      log.info({ host, port }, 'collector connected');
      void pump();
    });
    // The collector never talks back; a FIN from it means it is going away: stop writing at once so
    // lines are not written into a dying connection.
    s.on('data', () => {});
    s.on('end', () => dropSocket(s, 'closed by the collector'));
    s.on('error', (err) => {
      limited.error('json-tcp', { err: err.message, host, port }, 'collector unreachable');
      dropSocket(s, err.message);
    });
    s.on('close', () => dropSocket(s, 'closed'));
  }

  const write = (s: Socket, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      s.write(data, (err) => (err ? reject(err) : resolve()));
    });

  /** Sends what the spool holds, chunk by chunk, committing each chunk once the socket took it. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (connected && sock) {
        const s = sock;
        const chunk = await spool.read(CHUNK_BYTES);
        if (!chunk) break;
        if (!connected || sock !== s) break;
        try {
          await write(s, chunk);
        } catch {
          break; // 'error' handler reconnects; the chunk stays in the spool
        }
        await spool.commit(chunk.length);
        stats.inc('json_tcp_bytes_total', chunk.length);
      }
    } finally {
      pumping = false;
    }
    if (spool.lastError) {
      limited.error('json-tcp-spool', { err: spool.lastError.message }, 'spool disk error');
      spool.lastError = undefined;
    }
  }

  const off = bus.on('packets', (ev) => {
    const lines = linesOf(ev);
    if (!lines.length) return;
    stats.inc('json_tcp_lines_total', lines.length);
    void spool.append(lines).then(() => pump());
  });
  open();

  const shutdown = (): void => {
    closed = true;
    off();
    if (retry) clearTimeout(retry);
    retry = undefined;
  };
  return component(
    'json-tcp',
    async () => {
      off();
      // Let the final packets event (emitted by capture's close before ours) reach the collector.
      await spool.idle();
      const deadline = Date.now() + CLOSE_FLUSH_MS;
      while (connected && spool.pending() > 0 && Date.now() < deadline) {
        await pump();
        await new Promise((r) => setTimeout(r, 20));
      }
      shutdown();
      const s = sock;
      sock = undefined;
      connected = false;
      if (s)
        await new Promise<void>((r) => {
          const t = setTimeout(r, 1000);
          s.end(() => {
            clearTimeout(t);
            r();
          });
        });
      s?.destroy();
      await spool.close();
    },
    () => {
      shutdown();
      sock?.destroy();
      void spool.close();
    },
  );
}
