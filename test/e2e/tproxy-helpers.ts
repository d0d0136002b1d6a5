// Shared by the tproxy e2e tests: decoy routes, state of the firewall inside the sensor namespace.
import type { Testbed } from '../helpers/testbed.js';

/** Routes a /24 and a /64 of non-local "decoy" addresses from the scanner to the sensor. */
export async function addDecoyRoutes(bed: Testbed): Promise<void> {
  const r4 = await bed.exec(bed.scannerNs, 'ip', ['route', 'add', '198.18.1.0/24', 'via', bed.sensorIp]);
  const r6 = await bed.exec(bed.scannerNs, 'ip', [
    '-6',
    'route',
    'add',
    '2001:2:1::/64',
    'via',
    bed.sensorIp6,
  ]);
  if (r4.code || r6.code) throw new Error(`decoy routes: ${r4.stderr} ${r6.stderr}`);
}

/** What tidewatch may have left in the sensor namespace: table, ip rules (v4/v6), routes of table 29815. */
export async function firewallState(
  bed: Testbed,
): Promise<{ tables: string; rules: string; routes: string }> {
  const ns = bed.sensorNs;
  const tables = (await bed.exec(ns, 'nft', ['list', 'tables'])).stdout;
  const rules =
    (await bed.exec(ns, 'ip', ['rule'])).stdout + (await bed.exec(ns, 'ip', ['-6', 'rule'])).stdout;
  const routes =
    (await bed.exec(ns, 'ip', ['route', 'show', 'table', '29815'])).stdout +
    (await bed.exec(ns, 'ip', ['-6', 'route', 'show', 'table', '29815'])).stdout;
  return { tables, rules, routes };
}

export function leftovers(s: { tables: string; rules: string; routes: string }): string[] {
  const out: string[] = [];
  if (/tidewatch/.test(s.tables)) out.push(`table: ${s.tables.trim()}`);
  if (/0x7477|lookup 29815/.test(s.rules)) out.push(`rule: ${s.rules.trim()}`);
  if (s.routes.trim()) out.push(`route: ${s.routes.trim()}`);
  return out;
}

/** TCP exchange from the scanner: sends `data`, returns what came back (nc closes after its input). */
export async function ncTcp(bed: Testbed, host: string, port: number, data: string): Promise<string> {
  const r = await bed.exec(bed.scannerNs, 'nc', ['-w', '3', '-q', '2', host, String(port)], {
    input: data,
    timeoutMs: 10_000,
  });
  return r.stdout;
}

export async function ncUdp(bed: Testbed, host: string, port: number, data: string): Promise<void> {
  await bed.exec(bed.scannerNs, 'nc', ['-u', '-w', '1', '-q', '0', host, String(port)], {
    input: data,
    timeoutMs: 10_000,
  });
}

/**
 * A real local TCP service in the sensor namespace (answers `reply` at once and closes), started before or
 * while tidewatch runs. Node instead of socat+sh: no fork per connection, so it answers fast under load.
 */
export function startService(bed: Testbed, port: number, reply: string): void {
  bed.spawn(bed.sensorNs, process.execPath, [
    '-e',
    `require('net').createServer((s)=>{s.on('error',()=>{});s.end(${JSON.stringify(reply)})}).listen(${port},'::')`,
  ]);
}
