// How many of the wanted listening sockets fit the open-file limit: sockets first, within a budget that
// leaves room for sessions, log files, the store and the web server. UDP gets what TCP leaves, and at
// least half when both do not fit.
import { fdsInUse, raiseFdLimit } from './fd-limit.js';

/** File descriptors kept free for log files, the store, the web server and outgoing exports (up to 128). */
export const fdReserve = (soft: number): number => Math.min(128, Math.floor(soft / 8));

/** Ports of one protocol, each bound once per host. */
export interface WantedSockets {
  ports: number;
  hosts: number;
}

export interface PortBudget {
  /** The soft open-file limit after raising it as far as allowed. */
  soft: number;
  /** How many of the TCP ports, and of the UDP ports, fit (the first ones of each list). */
  tcpFit: number;
  udpFit: number;
}

export async function fitToFdLimit(
  tcp: WantedSockets,
  udp: WantedSockets,
  maxSessions: number,
): Promise<PortBudget> {
  const limit = await raiseFdLimit();
  const soft = Math.min(limit.soft, 1 << 24);
  const sessionReserve = Math.min(maxSessions, Math.floor(soft / 4));
  const budget = Math.max(0, soft - fdsInUse() - fdReserve(soft) - sessionReserve);
  const tcpWanted = tcp.ports * tcp.hosts;
  const udpWanted = udp.ports * udp.hosts;
  const udpBudget = Math.min(udpWanted, Math.max(budget - tcpWanted, Math.floor(budget / 2)));
  const fit = (w: WantedSockets, b: number) => (w.hosts ? Math.min(w.ports, Math.floor(b / w.hosts)) : 0);
  return { soft, tcpFit: fit(tcp, budget - udpBudget), udpFit: fit(udp, udpBudget) };
}
