// --listen tproxy: one TCP and one UDP transparent socket per address family on --tproxy-port, behind the
// nftables TPROXY rules of firewall/tproxy.ts. Every TCP connection and UDP datagram that the rules divert
// arrives here with its ORIGINAL destination and goes to the session handler (listen/types.ts).
import { createServer, type Server, type Socket } from 'node:net';
import type { SensorContext } from '../core/context.js';
import { TidewatchError } from '../core/errors.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { formatPorts } from '../config/units.js';
import {
  buildPlan,
  forwardingFamilies,
  installTproxy,
  type Family,
  type TproxyPlan,
  type TproxyRules,
} from '../firewall/tproxy.js';
import { localListeners, localListenersAsync } from './local-listeners.js';
import {
  closeFd,
  MAX_KEEP,
  startUdpReceiver,
  transparentTcpListen,
  transparentUdpSocket,
  type UdpReceiver,
} from './transparent-addon.js';
import type { SessionHandler } from './types.js';

const ANY: Record<Family, string> = { 4: '0.0.0.0', 6: '::' };
/**
 * Listen backlog of the one TCP socket that takes every port (capped by net.core.somaxconn, 4096 by
 * default): larger than Node's 511 because a burst across all ports lands on this single queue.
 */
const BACKLOG = 4096;

/** Node reports a v4 peer of a dual-stack socket as ::ffff:a.b.c.d; records carry the plain address. */
export function plainAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function listenFd(server: Server, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ fd }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startTransparent(ctx: SensorContext, sessions: SessionHandler): Promise<Component> {
  const { cfg, stats } = ctx;
  const log = ctx.log.child({ component: 'tproxy' });
  const errors = new RateLimitedLog(log);
  // Read before our own sockets exist, so the list holds other services only.
  const local = localListeners();
  const servers: Server[] = [];
  const receivers: UdpReceiver[] = [];
  const families: Family[] = [];
  let rules: TproxyRules | undefined;
  let plan: TproxyPlan;
  const keep = Math.max(1, Math.min(cfg.bufsize, MAX_KEEP));

  const onConnection = (socket: Socket): void => {
    const dst = plainAddress(socket.localAddress);
    const dport = socket.localPort ?? 0;
    if (!dst || !dport) {
      // The peer already left (the socket has no address any more): nothing to record.
      stats.inc('tproxy_tcp_no_origdst_total');
      socket.destroy();
      return;
    }
    try {
      sessions.acceptTcp(socket, { dst, dport });
    } catch (err) {
      errors.error('accept', { err }, 'session handler failed on a TCP connection');
      socket.destroy();
    }
  };

  const closeAll = async (): Promise<void> => {
    // Rules first: no packet should be diverted to a socket that is about to close.
    await rules?.close();
    for (const r of receivers) r.close();
    // Stop accepting only: server.close()'s callback would wait for every open session, which the
    // session handler closes itself (as "shutdown") right after this.
    for (const s of servers) s.close();
  };

  try {
    for (const fam of [4, 6] as const) {
      let tcpFd: number;
      try {
        tcpFd = transparentTcpListen(fam, ANY[fam], cfg.tproxyPort, BACKLOG);
      } catch (err) {
        // A host without IPv6 still runs tproxy mode for IPv4.
        if (fam === 6 && err instanceof TidewatchError && /not available|Address family/i.test(err.message)) {
          log.warn('IPv6 is not available: tproxy mode takes IPv4 only');
          continue;
        }
        throw err;
      }
      const server = createServer({ pauseOnConnect: false }, onConnection);
      server.on('error', (err: NodeJS.ErrnoException) => {
        // accept() errors (EMFILE, ENFILE, ENOBUFS): libuv keeps the listener and sheds; count and go on.
        stats.inc('listener_accept_errors_total');
        errors.error(`tcp${fam}`, { err, code: err.code }, 'transparent TCP accept failed');
      });
      try {
        await listenFd(server, tcpFd);
      } catch (err) {
        closeFd(tcpFd);
        throw new TidewatchError(
          'TW_ERR_LISTEN',
          `tproxy: cannot take the transparent TCP socket: ${String(err)}`,
        );
      }
      servers.push(server);
      const udpFd = transparentUdpSocket(fam, ANY[fam], cfg.tproxyPort);
      receivers.push(
        startUdpReceiver(udpFd, { keep }, (batch) => {
          const time = Date.now();
          stats.inc('tproxy_udp_batches_total');
          for (const d of batch) {
            if (!d.dst) {
              // Sent straight to the transparent port (not diverted): the port itself is the destination.
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
              });
            } catch (err) {
              errors.error('udp', { err }, 'session handler failed on a UDP datagram');
            }
          }
        }),
      );
      families.push(fam);
    }
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
  const rescan = startRescan(ctx, plan, rules);

  return component(
    'tproxy',
    () => {
      clearInterval(rescan);
      return closeAll();
    },
    () => {
      clearInterval(rescan);
      rules?.destroy();
      for (const r of receivers) r.close();
      for (const s of servers) s.close();
    },
  );
}

/** How often ports of local services that started after tidewatch are looked for. */
const RESCAN_MS = 5000;

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
