// --listen ports: one socket per configured port. TCP binds each port once on the wildcard (dual-stack ::,
// so IPv4 and IPv6) or on each --bind address; the accepted socket's local address is the real destination.
// UDP binds each port on each local address, because a wildcard UDP socket in Node cannot tell which
// address a datagram was sent to and every record must carry its real destination.
// The set is fitted to the open-file limit; ports in use or not permitted are skipped and reported.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { httpPort } from '../config/load.js';
import { formatPorts } from '../config/units.js';
import { fdsInUse, raiseFdLimit } from './fd-limit.js';
import type { Sessions } from './sessions.js';
import { tcpListen } from './tcp-engine.js';

/** File descriptors kept free for log files, the store, the web server and outgoing exports (up to 128). */
const fdReserve = (soft: number) => Math.min(128, Math.floor(soft / 8));
/** Listen backlog of each TCP port (capped by net.core.somaxconn). */
const BACKLOG = 1024;

interface Skipped {
  inUse: number[];
  denied: number[];
  other: number[];
  limit: number[];
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException)?.code ?? 'ERR';

/** Local unicast addresses of every interface, link-local IPv6 with its zone (fe80::1%eth0). */
export function localAddresses(family?: 4 | 6): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces()))
    for (const a of addrs ?? []) {
      const fam = a.family === 'IPv4' ? 4 : 6;
      if (family && fam !== family) continue;
      out.push(fam === 6 && /^fe80:/i.test(a.address) ? `${a.address}%${name}` : a.address);
    }
  return out;
}

function udpHosts(bind: readonly string[]): string[] {
  if (!bind.length) return localAddresses();
  const out = new Set<string>();
  for (const b of bind)
    if (b === '0.0.0.0') localAddresses(4).forEach((a) => out.add(a));
    else if (b === '::') localAddresses().forEach((a) => out.add(a));
    else out.add(b);
  return [...out];
}

export async function startPorts(ctx: SensorContext, sessions: Sessions): Promise<Component> {
  const { cfg, log } = ctx;
  const rlog = new RateLimitedLog(log);
  const excluded = new Set(cfg.excludePorts);
  const hp = httpPort(cfg.http);
  if (hp) excluded.add(hp);
  const tcpPorts = cfg.tcpPorts.filter((p) => !excluded.has(p));
  const udpPorts = cfg.udpPorts.filter((p) => !excluded.has(p));
  let tcpHosts = cfg.bind.length ? [...cfg.bind] : ['::'];
  const uHosts = udpPorts.length ? udpHosts(cfg.bind) : [];

  // Fit to the open-file limit: sockets first within a budget that leaves room for sessions.
  const limit = await raiseFdLimit();
  const soft = Math.min(limit.soft, 1 << 24);
  const sessionReserve = Math.min(cfg.maxSessions, Math.floor(soft / 4));
  const budget = Math.max(0, soft - fdsInUse() - fdReserve(soft) - sessionReserve);
  const tcpWanted = tcpPorts.length * tcpHosts.length;
  const udpWanted = udpPorts.length * uHosts.length;
  const udpBudget = Math.min(udpWanted, Math.max(budget - tcpWanted, Math.floor(budget / 2)));
  const tcpBudget = budget - udpBudget;
  const tcpFit = tcpHosts.length ? Math.min(tcpPorts.length, Math.floor(tcpBudget / tcpHosts.length)) : 0;
  const udpFit = uHosts.length ? Math.min(udpPorts.length, Math.floor(udpBudget / uHosts.length)) : 0;

  const tcpSkip: Skipped = { inUse: [], denied: [], other: [], limit: tcpPorts.slice(tcpFit) };
  const udpSkip: Skipped = { inUse: [], denied: [], other: [], limit: udpPorts.slice(udpFit) };
  const servers: { close(): void }[] = [];
  const udp: UdpSocket[] = [];

  const noteSkip = (skip: Skipped, port: number, err: unknown) => {
    const code = errCode(err);
    const list =
      code === 'EADDRINUSE'
        ? skip.inUse
        : code === 'EACCES' || code === 'EPERM'
          ? skip.denied
          : code === 'EMFILE' || code === 'ENFILE'
            ? skip.limit
            : skip.other;
    if (!list.includes(port)) list.push(port);
    if (list === skip.other) log.debug({ port, code }, 'cannot bind port');
  };

  // ── TCP ─────────────────────────────────────────────────────────────────────────────────────────
  // Sockets made here, owned by the session engine from then on (it accepts, and handles EMFILE by
  // shedding with a reserve descriptor and pausing the port with a growing delay).
  const listenTcp = async (host: string, port: number): Promise<void> => {
    const fd = tcpListen(host, port, BACKLOG);
    servers.push(sessions.listenTcp(fd));
  };

  const bindAll = async (
    hosts: string[],
    ports: number[],
    bind: (h: string, p: number) => Promise<void>,
    skip: Skipped,
  ) => {
    const bound = new Set<number>();
    await Promise.all(
      ports.flatMap((port) =>
        hosts.map((h) =>
          bind(h, port).then(
            () => void bound.add(port),
            (err) => noteSkip(skip, port, err),
          ),
        ),
      ),
    );
    return [...bound].sort((a, b) => a - b);
  };

  // Dual-stack :: fails where IPv6 is off: then IPv4 only. The first port tells.
  let tcpList = tcpPorts.slice(0, tcpFit);
  const preBound: number[] = [];
  if (!cfg.bind.length && tcpList.length) {
    const first = tcpList[0]!;
    try {
      await listenTcp('::', first);
      preBound.push(first);
      tcpList = tcpList.slice(1);
    } catch (err) {
      if (['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes(errCode(err))) tcpHosts = ['0.0.0.0'];
      else {
        noteSkip(tcpSkip, first, err);
        tcpList = tcpList.slice(1);
      }
    }
  }
  const tcpBound = [...preBound, ...(await bindAll(tcpHosts, tcpList, listenTcp, tcpSkip))];

  // ── UDP ─────────────────────────────────────────────────────────────────────────────────────────
  const bindUdp = (host: string, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const zone = host.indexOf('%');
      const dst = zone >= 0 ? host.slice(0, zone) : host;
      const s = createSocket({ type: isIPv6(dst) ? 'udp6' : 'udp4' });
      s.once('error', reject);
      s.on('message', (data, rinfo) =>
        sessions.recordUdp({
          src: rinfo.address,
          sport: rinfo.port,
          dst,
          dport: port,
          data,
          bytes: rinfo.size,
          time: Date.now(),
        }),
      );
      s.bind({ address: host, port }, () => {
        s.removeListener('error', reject);
        s.on('error', (err) =>
          rlog.error(`udp:${errCode(err)}`, { port, code: errCode(err) }, 'UDP receive failed'),
        );
        udp.push(s);
        resolve();
      });
    });
  const udpBound = await bindAll(uHosts, udpPorts.slice(0, udpFit), bindUdp, udpSkip);

  // ── Report ──────────────────────────────────────────────────────────────────────────────────────
  sessions.fitFds(fdsInUse() - sessions.size, fdReserve(soft));
  log.info(
    {
      tcp: formatPorts(tcpBound),
      udp: formatPorts(udpBound),
      tcpHosts,
      udpHosts: uHosts,
      sockets: servers.length + udp.length,
      fdLimit: soft,
      maxSessions: sessions.limitValue,
    },
    `listening on ${tcpBound.length} TCP and ${udpBound.length} UDP ports`,
  );
  for (const [proto, skip] of [
    ['tcp', tcpSkip],
    ['udp', udpSkip],
  ] as const) {
    const f = (l: number[]) => formatPorts([...new Set(l)].sort((a, b) => a - b));
    if (skip.inUse.length)
      log.warn({ proto, ports: f(skip.inUse) }, `${proto} ports in use by other services, skipped`);
    if (skip.denied.length)
      log.warn(
        { proto, ports: f(skip.denied) },
        `${proto} ports not permitted, skipped: ports below 1024 need root or CAP_NET_BIND_SERVICE`,
      );
    if (skip.other.length)
      log.warn({ proto, ports: f(skip.other) }, `${proto} ports that could not be bound, skipped`);
    if (skip.limit.length)
      log.warn(
        {
          proto,
          bound: proto === 'tcp' ? tcpBound.length : udpBound.length,
          skipped: f(skip.limit),
          fdLimit: soft,
        },
        `open-file limit too low: bound ${proto === 'tcp' ? tcpBound.length : udpBound.length} ${proto} ports, ` +
          `skipped ${skip.limit.length}; raise the hard limit (ulimit -Hn, LimitNOFILE= in the systemd unit, ` +
          `or prlimit --pid PID --nofile=N:N) or use --listen tproxy, which needs two sockets for all ports`,
      );
  }
  if (sessions.limitValue < cfg.maxSessions)
    log.warn(
      { maxSessions: sessions.limitValue, wanted: cfg.maxSessions, fdLimit: soft },
      'open-file limit too low for --max-sessions: open sessions capped lower',
    );

  const shut = () => {
    for (const s of servers) s.close();
    servers.length = 0;
    for (const s of udp) s.close();
    udp.length = 0;
  };
  return component('listener-ports', async () => shut(), shut);
}
