// Ports that already have a local service in this network namespace, read from /proc/net/{tcp,tcp6,udp,udp6}.
// tproxy mode must never take their traffic: the TPROXY rule would otherwise steal new connections meant for
// them (the kernel prefers the transparent listener for a SYN it diverts). /proc is read instead of running
// `ss` so that no external tool and no parsing of its changing output format is needed.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const TCP_LISTEN = 0x0a;
const UDP_UNCONNECTED = 0x07;

export interface LocalListeners {
  tcp: number[];
  udp: number[];
}

/**
 * Parses one /proc/net table. Each data line: `sl local_address rem_address st ...`, local_address is
 * `HEXADDR:HEXPORT`. Keeps the local ports of entries whose state is in `states`.
 */
export function parseProcNet(text: string, states: ReadonlySet<number>): number[] {
  const ports = new Set<number>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 4) continue;
    const local = f[1]!;
    const colon = local.lastIndexOf(':');
    if (colon < 0) continue;
    const port = parseInt(local.slice(colon + 1), 16);
    const st = parseInt(f[3]!, 16);
    if (Number.isInteger(port) && port > 0 && port <= 65535 && states.has(st)) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

function readTable(path: string, states: ReadonlySet<number>): number[] {
  try {
    return parseProcNet(readFileSync(path, 'utf8'), states);
  } catch {
    return []; // no IPv6 in this kernel/namespace: nothing listens there
  }
}

/**
 * TCP ports in LISTEN and UDP ports bound by an unconnected socket (a server), IPv4 and IPv6.
 * Connected UDP sockets are clients: their replies are established flows, left alone by other rules.
 */
export function localListeners(procNet = '/proc/net'): LocalListeners {
  const listen = new Set([TCP_LISTEN]);
  const unconnected = new Set([UDP_UNCONNECTED]);
  const merge = (a: number[], b: number[]) => [...new Set([...a, ...b])].sort((x, y) => x - y);
  return {
    tcp: merge(readTable(`${procNet}/tcp`, listen), readTable(`${procNet}/tcp6`, listen)),
    udp: merge(readTable(`${procNet}/udp`, unconnected), readTable(`${procNet}/udp6`, unconnected)),
  };
}

async function readTableAsync(path: string, states: ReadonlySet<number>): Promise<number[]> {
  try {
    return parseProcNet(await readFile(path, 'utf8'), states);
  } catch {
    return [];
  }
}

/** localListeners without blocking the event loop (for the periodic re-scan while running). */
export async function localListenersAsync(procNet = '/proc/net'): Promise<LocalListeners> {
  const listen = new Set([TCP_LISTEN]);
  const unconnected = new Set([UDP_UNCONNECTED]);
  const [t4, t6, u4, u6] = await Promise.all([
    readTableAsync(`${procNet}/tcp`, listen),
    readTableAsync(`${procNet}/tcp6`, listen),
    readTableAsync(`${procNet}/udp`, unconnected),
    readTableAsync(`${procNet}/udp6`, unconnected),
  ]);
  const merge = (a: number[], b: number[]) => [...new Set([...a, ...b])].sort((x, y) => x - y);
  return { tcp: merge(t4, t6), udp: merge(u4, u6) };
}
