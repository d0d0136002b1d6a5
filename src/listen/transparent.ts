// --listen tproxy: one TCP and one UDP transparent socket per address family on --tproxy-port, behind the
// nftables TPROXY rules of firewall/tproxy.ts. Every TCP connection and UDP datagram that the rules divert
// arrives here with its ORIGINAL destination and goes to the session handler (listen/types.ts).
// docs/tproxy.md describes the whole mode.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { formatPorts } from '../config/units.js';
import {
  buildPlan,
  forwardingFamilies,
  installTproxy,
  type TproxyPlan,
  type TproxyRules,
} from '../firewall/tproxy.js';
import { localListeners, localListenersAsync } from './local-listeners.js';
import {
  familyUnavailable,
  MAX_KEEP,
  RECORD_HEADER,
  sendFrom,
  startUdpReceiver,
  transparentTcpListen,
  transparentUdpSocket,
  type Family,
  type ReceivedDatagram,
  type UdpReceiver,
} from './transparent-addon.js';
import type { SessionHandler } from './types.js';

const ANY: Record<Family, string> = { 4: '0.0.0.0', 6: '::' };
/**
 * Listen backlog of the one TCP socket that takes every port (capped by net.core.somaxconn, 4096 by
 * default): large because a burst across all ports lands on this single queue.
 */
const BACKLOG = 4096;
/** Memory of one UDP receiver's batch buffer (datagrams of --bufsize bytes per JS call). */
const BATCH_BYTES = 4 << 20;
/** How often ports of local services that started after tidewatch are looked for. */
const RESCAN_MS = 5000;

/**
 * The UDP receivers' batch callback: each datagram with its original destination goes to the session
 * handler; under --respond-udp its reply leaves from that destination, as ports mode's does.
 */
function datagramHandler(
  ctx: SensorContext,
  sessions: SessionHandler,
  log: SensorContext['log'],
): (batch: ReceivedDatagram[]) => void {
  const { cfg, stats } = ctx;
  const rlog = new RateLimitedLog(log);
  const replyTo =
    cfg.respondUdp === 'on'
      ? (d: ReceivedDatagram) =>
          (data: Buffer): void => {
            try {
              sendFrom(d.family, { address: d.dst, port: d.dport }, { address: d.src, port: d.sport }, data);
            } catch (err) {
              stats.inc('respond_udp_send_errors_total');
              if (rlog.allow('udp-reply')) log.warn({ err }, 'UDP reply not sent');
            }
          }
      : undefined;

  return (batch: ReceivedDatagram[]): void => {
    const time = Date.now();
    stats.inc('tproxy_udp_batches_total');
    for (const d of batch) {
      if (!d.dst) {
        stats.inc('tproxy_udp_no_origdst_total');
        continue;
      }
      try {
        sessions.recordUdp({
          src: d.src,
          sport: d.sport,
          dst: d.dst,
          dport: d.dport,
          data: d.data,
          bytes: d.bytes,
          time,
          reply: replyTo?.(d),
        });
      } catch (err) {
        rlog.error('udp', { err }, 'session handler failed on a UDP datagram');
      }
    }
  };
}

interface Sockets {
  tcp: { close(): void }[];
  receivers: UdpReceiver[];
  families: Family[];
}

/**
 * Opens each family's TCP listener and UDP receiver on --tproxy-port into `into` (what opened stays there
 * for the caller to close if a later step fails). A host without IPv6 gets IPv4 only.
 */
function openSockets(
  ctx: SensorContext,
  sessions: SessionHandler,
  log: SensorContext['log'],
  into: Sockets,
): void {
  const { cfg } = ctx;
  const keep = Math.max(1, Math.min(cfg.bufsize, MAX_KEEP));
  // The batch buffer holds maxBatch records of keep bytes: at most 4 MiB per receiver, 16..256 datagrams.
  const maxBatch = Math.max(16, Math.min(256, Math.floor(BATCH_BYTES / (RECORD_HEADER + keep))));
  const onBatch = datagramHandler(ctx, sessions, log);
  for (const fam of [4, 6] as const) {
    try {
      // The session engine owns the socket from here: it accepts, and the accepted socket's local
      // address is the original destination. Out of descriptors it sheds and pauses, as in ports mode.
      into.tcp.push(sessions.listenTcp(transparentTcpListen(fam, ANY[fam], cfg.tproxyPort, BACKLOG)));
    } catch (err) {
      if (fam === 6 && familyUnavailable(err)) {
        log.warn('IPv6 is not available: tproxy mode takes IPv4 only');
        continue;
      }
      throw err;
    }
    into.receivers.push(
      startUdpReceiver(transparentUdpSocket(fam, ANY[fam], cfg.tproxyPort), { keep, maxBatch }, onBatch),
    );
    into.families.push(fam);
  }
}

export async function startTransparent(ctx: SensorContext, sessions: SessionHandler): Promise<Component> {
  const { cfg } = ctx;
  const log = ctx.log.child({ component: 'tproxy' });
  // Read before our own sockets exist, so the list holds other services only.
  const local = localListeners();
  const sockets: Sockets = { tcp: [], receivers: [], families: [] };
  const { tcp, receivers, families } = sockets;
  let rules: TproxyRules | undefined;
  const timers: { rescan?: NodeJS.Timeout } = {};

  const closeAll = async (): Promise<void> => {
    if (timers.rescan) clearInterval(timers.rescan);
    // Rules first: no packet should be diverted to a socket that is about to close.
    await rules?.close();
    for (const r of receivers) r.close();
    // Stop accepting only: the session handler closes open sessions itself (as "shutdown").
    for (const t of tcp) t.close();
  };

  let plan: TproxyPlan;
  try {
    openSockets(ctx, sessions, log, sockets);
    plan = buildPlan(cfg, local, families, forwardingFamilies());
    if (plan.localOnly.length)
      log.warn(
        { families: plan.localOnly },
        'this host forwards packets: tproxy mode takes only traffic to its own addresses; give --tproxy-dst to take routed decoy ranges',
      );
    rules = await installTproxy(plan);
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
  log.info(
    {
      port: cfg.tproxyPort,
      families,
      excludedTcp: formatPorts(plan.tcpExcluded),
      excludedUdp: formatPorts(plan.udpExcluded),
    },
    'tproxy mode: transparent sockets and TPROXY rules installed',
  );
  log.debug({ ruleset: rules.ruleset }, 'tproxy ruleset');
  timers.rescan = startRescan(ctx, plan, rules);

  return component(
    'tproxy',
    () => closeAll(),
    () => {
      if (timers.rescan) clearInterval(timers.rescan);
      rules?.destroy();
      for (const r of receivers) r.close();
      for (const t of tcp) t.close();
    },
  );
}

/**
 * A service started after tidewatch would lose its new connections to TPROXY: re-read /proc/net every few
 * seconds and add its ports to the excluded sets (only ever adds: a port is never taken back while running).
 */
function startRescan(ctx: SensorContext, plan: TproxyPlan, rules: TproxyRules): NodeJS.Timeout {
  const log = ctx.log.child({ component: 'tproxy' });
  const known = { tcp: new Set(plan.tcpExcluded), udp: new Set(plan.udpExcluded) };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      const now = await localListenersAsync();
      for (const proto of ['tcp', 'udp'] as const) {
        const fresh = now[proto].filter((p) => !known[proto].has(p) && p !== plan.port);
        if (!fresh.length) continue;
        await rules.exclude(proto, fresh);
        for (const p of fresh) known[proto].add(p);
        log.info({ proto, ports: formatPorts(fresh) }, 'a local service appeared: its ports are left to it');
      }
    })()
      .catch((err: unknown) => log.error({ err }, 'tproxy: re-scan of local services failed'))
      .finally(() => (busy = false));
  }, RESCAN_MS);
  timer.unref();
  return timer;
}
