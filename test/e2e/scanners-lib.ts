// Shared by the scanner, block and metrics end-to-end tests: the sensor's usual flags, reading what it wrote,
// and probing reachability from the scanner namespace.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockEvent, ScanEvent } from '../../src/core/events.js';
import { eventually, readJsonLines, type RunningSensor, tempDir } from '../helpers/sensor.js';
import type { Testbed } from '../helpers/testbed.js';

/** Listener ports of every test sensor: a few open services among closed ports, so scans see both. */
export const TCP_PORTS = '21-23,80,443,8080';
export const UDP_PORTS = '53,161';

export const sensorArgs = (bed: Testbed, more: string[] = [], http = 'off'): string[] => [
  '--capture',
  bed.sensorIf,
  '--tcp-ports',
  TCP_PORTS,
  '--udp-ports',
  UDP_PORTS,
  '--store',
  'off',
  '--geoip',
  'off',
  '--http',
  http,
  ...more,
];

export const scans = (s: RunningSensor, src?: string): ScanEvent[] =>
  readJsonLines<ScanEvent>(join(s.dataDir, 'events')).filter(
    (e) => e.type === 'scan' && (!src || e.src === src),
  );

export const blocks = (s: RunningSensor, src?: string): BlockEvent[] =>
  readJsonLines<BlockEvent>(join(s.dataDir, 'events')).filter(
    (e) => e.type === 'block' && (!src || e.src === src),
  );

/** Waits for the first scan event (state open) of src. */
export async function openScan(s: RunningSensor, src: string, timeoutMs = 15_000): Promise<ScanEvent> {
  const ev = await eventually(() => scans(s, src).find((e) => e.state === 'open'), timeoutMs);
  if (!ev) throw new Error(`no scan event from ${src}; log tail:\n${s.logs.slice(-15).join('\n')}`);
  return ev;
}

export async function blockEvent(
  s: RunningSensor,
  src: string,
  action: BlockEvent['action'],
  timeoutMs = 15_000,
): Promise<BlockEvent> {
  const ev = await eventually(() => blocks(s, src).find((e) => e.action === action), timeoutMs);
  if (!ev)
    throw new Error(
      `no block ${action} event for ${src}: ${JSON.stringify(blocks(s))}\n${s.logs.slice(-15).join('\n')}`,
    );
  return ev;
}

/** TCP connect from the scanner namespace (openbsd nc -z): whether it connected and how long it took. */
export async function tryConnect(
  bed: Testbed,
  ip: string,
  port: number,
  waitS = 2,
): Promise<{ ok: boolean; ms: number }> {
  const t0 = Date.now();
  const args = ['-z', '-w', String(waitS), ip, String(port)];
  if (ip.includes(':')) args.unshift('-6');
  const r = await bed.exec(bed.scannerNs, 'nc', args, { timeoutMs: (waitS + 5) * 1000 });
  return { ok: r.code === 0, ms: Date.now() - t0 };
}

/** The whole nftables ruleset of the sensor namespace. */
export async function ruleset(bed: Testbed): Promise<string> {
  const r = await bed.exec(bed.sensorNs, 'nft', ['list', 'ruleset']);
  return r.stdout;
}

/**
 * masscan at 1000 pps over ports 1-200 from its own spare address `src` (it answers ARP for it and needs the
 * router MAC as it finds no gateway), bounded by timeout: the command and arguments for bed.exec.
 */
export const masscanRun = (bed: Testbed, src: string): [string, string[]] => [
  'timeout',
  [
    '-s',
    'INT',
    '-k',
    '5',
    '30',
    'masscan',
    bed.sensorIp,
    '-p1-200',
    '--rate',
    '1000',
    '--adapter',
    bed.scannerIf,
  ].concat(['--router-mac', bed.sensorMac, '--adapter-ip', src, '--wait', '1']),
];

/** An empty zmap blocklist (its default one lists 198.18.0.0/15, our test range). */
export function emptyBlocklist(): string {
  const p = join(tempDir('tw-zmap-'), 'empty.conf');
  writeFileSync(p, '');
  return p;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
