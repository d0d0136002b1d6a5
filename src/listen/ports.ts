// --listen ports: one socket per configured port. TCP binds each port once on the wildcard (dual-stack ::,
// so IPv4 and IPv6) or on each --bind address; the accepted socket's local address is the real destination.
// UDP binds each port on each local address, because a wildcard UDP socket in Node cannot tell which
// address a datagram was sent to and every record must carry its real destination.
// The set is fitted to the open-file limit; ports in use or not permitted are skipped and reported.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { httpPort } from '../config/load.js';
import { formatPorts } from '../config/units.js';
import { fdsInUse, raiseFdLimit } from './fd-limit.js';
import type { Sessions } from './sessions.js';

/** File descriptors kept free for log files, the store, the web server and outgoing exports (up to 128). */
const fdReserve = (soft: number) => Math.min(128, Math.floor(soft / 8));
/** Accept pauses after EMFILE grow from 100 ms to 5 s. */
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

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
  const { cfg, log, stats } = ctx;
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
  const servers = new Map<string, Server>();
  const udp: UdpSocket[] = [];
  let closed = false;

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
  const backoff = new Map<string, { delay: number; lastFail: number }>();
  const listenTcp = (host: string, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const key = `${host}|${port}`;
      const srv = createServer((s) => sessions.acceptTcp(s, { dst: s.localAddress ?? host, dport: port }));
      const onListenError = (err: Error) => reject(err);
      srv.once('error', onListenError);
      srv.listen({ host, port, ipv6Only: false, backlog: 1024 }, () => {
        srv.removeListener('error', onListenError);
        srv.on('error', (err) => onServerError(key, host, port, srv, err));
        servers.set(key, srv);
        resolve();
      });
    });

  // EMFILE/ENFILE at accept. Sessions are capped below the open-file limit (fitFds), so this is the last
  // line: libuv first sheds pending connections with its reserve descriptor without telling us; when even
  // that fails it reports the error here, and would otherwise wake up for the same connection again and
  // again. Stop accepting on this port for a while (closing the listener sheds its backlog) and listen
  // again, with a growing delay.
  const onServerError = (key: string, host: string, port: number, srv: Server, err: Error) => {
    const code = errCode(err);
    if (code !== 'EMFILE' && code !== 'ENFILE') {
      rlog.error(`accept:${code}`, { port, code }, 'accept failed');
      return;
    }
    stats.inc('listener_emfile_total');
    if (servers.get(key) !== srv) return; // already paused
    servers.delete(key);
    srv.close();
    const now = Date.now();
    const b = backoff.get(key) ?? { delay: BACKOFF_MIN_MS, lastFail: 0 };
    b.delay = now - b.lastFail < 10_000 ? Math.min(b.delay * 2, BACKOFF_MAX_MS) : BACKOFF_MIN_MS;
    b.lastFail = now;
    backoff.set(key, b);
    rlog.error(
      'emfile',
      { code, port, pauseMs: b.delay, open: sessions.size },
      'out of file descriptors: accepting paused and new connections shed (counted in listener_emfile_total); ' +
        'lower --max-sessions or raise the open-file limit',
    );
    const retry = () => {
      if (closed) return;
      listenTcp(host, port).catch((e: unknown) => {
        stats.inc('listener_emfile_total');
        if (errCode(e) === 'EMFILE' || errCode(e) === 'ENFILE') setTimeout(retry, b.delay);
        else log.error({ port, code: errCode(e) }, 'port lost while accepting was paused');
      });
    };
    setTimeout(retry, b.delay);
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
      sockets: servers.size + udp.length,
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
    closed = true;
    for (const s of servers.values()) s.close();
    servers.clear();
    for (const s of udp) s.close();
    udp.length = 0;
  };
  return component('listener-ports', async () => shut(), shut);
}
