// Ports that already have a local service in this network namespace, read from /proc/net (core/procnet.ts).
// tproxy mode must never take their traffic: the TPROXY rule would otherwise steal new connections meant for
// them (the kernel prefers the transparent listener for a SYN it diverts).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseProcNet } from '../core/procnet.js';

const TCP_LISTEN = 0x0a;
const UDP_UNCONNECTED = 0x07;

export interface LocalListeners {
  tcp: number[];
  udp: number[];
}

/** Local ports of the table's entries whose state is in `states`, sorted. */
export function portsInStates(text: string, states: ReadonlySet<number>): number[] {
  const ports = new Set<number>();
  for (const e of parseProcNet(text))
    if (Number.isInteger(e.lport) && e.lport > 0 && e.lport <= 65535 && states.has(e.state))
      ports.add(e.lport);
  return [...ports].sort((a, b) => a - b);
}

const LISTEN = new Set([TCP_LISTEN]);
const UNCONNECTED = new Set([UDP_UNCONNECTED]);
const TABLES = ['tcp', 'tcp6', 'udp', 'udp6'] as const;

/** TCP ports in LISTEN and UDP ports of unconnected sockets from the four tables' text ('' when absent). */
function fromTables([t4, t6, u4, u6]: string[]): LocalListeners {
  const merge = (a: string | undefined, b: string | undefined, states: ReadonlySet<number>) =>
    [...new Set([...portsInStates(a ?? '', states), ...portsInStates(b ?? '', states)])].sort(
      (x, y) => x - y,
    );
  return { tcp: merge(t4, t6, LISTEN), udp: merge(u4, u6, UNCONNECTED) };
}

/**
 * TCP ports in LISTEN and UDP ports bound by an unconnected socket (a server), IPv4 and IPv6.
 * Connected UDP sockets are clients: their replies are established flows, left alone by other rules.
 * A missing table (no IPv6 in this kernel/namespace) means nothing listens there.
 */
export function localListeners(procNet = '/proc/net'): LocalListeners {
  return fromTables(
    TABLES.map((t) => {
      try {
        return readFileSync(`${procNet}/${t}`, 'utf8');
      } catch {
        return '';
      }
    }),
  );
}

/** localListeners without blocking the event loop (for the periodic re-scan while running). */
export async function localListenersAsync(procNet = '/proc/net'): Promise<LocalListeners> {
  return fromTables(
    await Promise.all(TABLES.map((t) => readFile(`${procNet}/${t}`, 'utf8').catch(() => ''))),
  );
}
