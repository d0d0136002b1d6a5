// --listen ports: one socket per configured port. TCP binds each port once on the wildcard (dual-stack ::,
// so IPv4 and IPv6) or on each --bind address; the accepted socket's local address is the real destination.
// UDP binds each port on each local address, because a wildcard UDP socket in Node cannot tell which
// address a datagram was sent to and every record must carry its real destination.
// The set is fitted to the open-file limit; ports in use or not permitted are skipped and reported.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { localAddresses } from '../core/addresses.js';
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { formatPorts, httpPort } from '../config/units.js';
import { fdsInUse } from './fd-limit.js';
import { fdReserve, fitToFdLimit } from './port-budget.js';
import type { Sessions } from './sessions.js';
import { errCode, SkippedPorts } from './skipped-ports.js';
import { tcpListen } from './tcp-engine.js';

/** Listen backlog of each TCP port (capped by net.core.somaxconn). */
const BACKLOG = 1024;

function udpHosts(bind: readonly string[]): string[] {
  if (!bind.length) return localAddresses();
  const out = new Set<string>();
  for (const b of bind)
    if (b === '0.0.0.0') localAddresses(4).forEach((a) => out.add(a));
    else if (b === '::') localAddresses().forEach((a) => out.add(a));
    else out.add(b);
  return [...out];
}

/** The listening sockets: TCP ones handed to the session engine, UDP ones recording into sessions. */
class PortSockets {
  private readonly tcp: { close(): void }[] = [];
  private readonly udp: UdpSocket[] = [];

  constructor(
    private readonly sessions: Sessions,
    private readonly rlog: RateLimitedLog,
  ) {}

  get count(): number {
    return this.tcp.length + this.udp.length;
  }

  // Sockets made here, owned by the session engine from then on (it accepts, and handles EMFILE by
  // shedding with a reserve descriptor and pausing the port with a growing delay).
  listenTcp = async (host: string, port: number): Promise<void> => {
    const fd = tcpListen(host, port, BACKLOG);
    this.tcp.push(this.sessions.listenTcp(fd));
  };

  bindUdp = (host: string, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const zone = host.indexOf('%');
      const dst = zone >= 0 ? host.slice(0, zone) : host;
      const s = createSocket({ type: isIPv6(dst) ? 'udp6' : 'udp4' });
      s.once('error', reject);
      s.on('message', (data, rinfo) =>
        this.sessions.recordUdp({
          src: rinfo.address,
          sport: rinfo.port,
          dst,
          dport: port,
          data,
          bytes: rinfo.size,
          time: Date.now(),
          reply: (b) => s.send(b, rinfo.port, rinfo.address),
        }),
      );
      s.bind({ address: host, port }, () => {
        s.removeListener('error', reject);
        s.on('error', (err) =>
          this.rlog.error(`udp:${errCode(err)}`, { port, code: errCode(err) }, 'UDP receive failed'),
        );
        this.udp.push(s);
        resolve();
      });
    });

  close = (): void => {
    for (const s of this.tcp) s.close();
    this.tcp.length = 0;
    for (const s of this.udp) s.close();
    this.udp.length = 0;
  };
}

/** Binds every port on every host; returns the ports bound on at least one host, ascending. */
async function bindAll(
  hosts: string[],
  ports: number[],
  bind: (h: string, p: number) => Promise<void>,
  skip: SkippedPorts,
): Promise<number[]> {
  const bound = new Set<number>();
  await Promise.all(
    ports.flatMap((port) =>
      hosts.map((h) =>
        bind(h, port).then(
          () => void bound.add(port),
          (err) => skip.note(port, err),
        ),
      ),
    ),
  );
  return [...bound].sort((a, b) => a - b);
}

/** TCP on the --bind hosts, or dual-stack :: that falls back to IPv4 where IPv6 is off (the first port tells). */
async function bindTcp(
  sockets: PortSockets,
  bind: readonly string[],
  ports: number[],
  skip: SkippedPorts,
): Promise<{ bound: number[]; hosts: string[] }> {
  if (bind.length)
    return { bound: await bindAll([...bind], ports, sockets.listenTcp, skip), hosts: [...bind] };
  let hosts = ['::'];
  const first = ports[0];
  if (first === undefined) return { bound: [], hosts };
  const preBound: number[] = [];
  try {
    await sockets.listenTcp('::', first);
    preBound.push(first);
  } catch (err) {
    if (['EAFNOSUPPORT', 'EADDRNOTAVAIL'].includes(errCode(err))) hosts = ['0.0.0.0'];
    else skip.note(first, err);
  }
  const rest = hosts[0] === '::' ? ports.slice(1) : ports;
  return { bound: [...preBound, ...(await bindAll(hosts, rest, sockets.listenTcp, skip))], hosts };
}

export async function startPorts(ctx: SensorContext, sessions: Sessions): Promise<Component> {
  const { cfg, log } = ctx;
  const excluded = new Set(cfg.excludePorts);
  const hp = httpPort(cfg.http);
  if (hp) excluded.add(hp);
  const tcpPorts = cfg.tcpPorts.filter((p) => !excluded.has(p));
  const udpPorts = cfg.udpPorts.filter((p) => !excluded.has(p));
  const uHosts = udpPorts.length ? udpHosts(cfg.bind) : [];
  const { soft, tcpFit, udpFit } = await fitToFdLimit(
    { ports: tcpPorts.length, hosts: cfg.bind.length || 1 },
    { ports: udpPorts.length, hosts: uHosts.length },
    cfg.maxSessions,
  );
  const tcpSkip = new SkippedPorts('tcp', log, tcpPorts.slice(tcpFit));
  const udpSkip = new SkippedPorts('udp', log, udpPorts.slice(udpFit));
  const sockets = new PortSockets(sessions, new RateLimitedLog(log));

  const tcp = await bindTcp(sockets, cfg.bind, tcpPorts.slice(0, tcpFit), tcpSkip);
  const udpBound = await bindAll(uHosts, udpPorts.slice(0, udpFit), sockets.bindUdp, udpSkip);

  sessions.fitFds(fdsInUse() - sessions.size, fdReserve(soft));
  log.info(
    {
      tcp: formatPorts(tcp.bound),
      udp: formatPorts(udpBound),
      tcpHosts: tcp.hosts,
      udpHosts: uHosts,
      sockets: sockets.count,
      fdLimit: soft,
      maxSessions: sessions.limitValue,
    },
    `listening on ${tcp.bound.length} TCP and ${udpBound.length} UDP ports`,
  );
  tcpSkip.report(tcp.bound.length, soft);
  udpSkip.report(udpBound.length, soft);
  if (sessions.limitValue < cfg.maxSessions)
    log.warn(
      { maxSessions: sessions.limitValue, wanted: cfg.maxSessions, fdLimit: soft },
      'open-file limit too low for --max-sessions: open sessions capped lower',
    );
  return component('listener-ports', async () => sockets.close(), sockets.close);
}
