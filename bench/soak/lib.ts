// What the soak phases share: one result row, the sensor started under an optional wrapper (prlimit) with its
// /metrics on loopback inside its namespace, readings of a process (RSS, open descriptors) and of a directory
// (du), a streaming pcap writer, tcpreplay, and a bounded connection-flood client for the scanner namespace.
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { pcapHeader } from '../../test/helpers/pcap-frames.js';
import { type RunningSensor, startSensor } from '../../test/helpers/sensor.js';
import type { Testbed } from '../../test/helpers/testbed.js';

export interface Row {
  phase: string;
  held: string;
  figure: string;
  pass: boolean;
  command: string;
}

/** Options every phase reads: --quick shrinks counts and durations. */
export interface SoakOptions {
  quick: boolean;
  collectorDownS: number;
  spoolMax: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const MiB = 1024 * 1024;
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The sensor's dashboard address inside its own namespace: /metrics is read there with curl. */
const HTTP = '127.0.0.1:18339';
export const BASE_ARGS = ['--geoip', 'off', '--tls', 'off', '--http', HTTP, '--log-level', 'info'];

export interface Sensor extends RunningSensor {
  pid: number;
  metric(name: string): Promise<number>;
}

/** `tidewatch run` in the bed's sensor namespace; `wrap` execs node in place (prlimit ... --). */
export async function sensor(
  bed: Testbed,
  args: string[],
  opts: { dataDir?: string; wrap?: string[] } = {},
): Promise<Sensor> {
  const s = await startSensor(bed, [...BASE_ARGS, ...args], { ...opts, readyTimeoutMs: 60_000 });
  const metric = async (name: string): Promise<number> => {
    // A busy sensor may answer late: retried, and NaN (never a made-up 0) when it does not answer at all.
    for (let i = 0; i < 3; i++) {
      const r = await bed.exec(bed.sensorNs, 'curl', ['-sf', '-m', '30', `http://${HTTP}/metrics`], {
        timeoutMs: 35_000,
      });
      if (r.code !== 0) continue;
      const m = new RegExp(`^tidewatch_${name} ([0-9.e+]+)$`, 'm').exec(r.stdout);
      return m ? Number(m[1]) : 0;
    }
    return NaN;
  };
  return Object.assign(s, { pid: s.proc.pid!, metric });
}

/** Resident set of a process, bytes (VmRSS), and its peak (VmHWM). */
export function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

export const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** user+system CPU seconds of a process. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Calls fn every `ms` until stop() and keeps the largest value it returned. */
export function sampleMax(fn: () => Promise<number> | number, ms: number) {
  let max = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        max = Math.max(max, await fn());
        samples++;
      } catch {
        /* the thing sampled may be gone for a moment (file renamed) */
      }
      await sleep(ms);
    }
  })();
  return {
    get max() {
      return max;
    },
    async stop() {
      running = false;
      await loop;
      return { max, samples };
    },
  };
}

/** A classic pcap file written in 4 MiB chunks (millions of frames). */
export class PcapWriter {
  private readonly fd: number;
  private buf = Buffer.alloc(4 * MiB);
  private at = 0;
  frames = 0;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
    writeSync(this.fd, pcapHeader());
  }
  add(frame: Buffer): void {
    if (this.at + 16 + frame.length > this.buf.length) this.flush();
    const i = this.frames++;
    this.buf.writeUInt32LE(1_700_000_000 + Math.floor(i / 1e6), this.at);
    this.buf.writeUInt32LE(i % 1e6, this.at + 4);
    this.buf.writeUInt32LE(frame.length, this.at + 8);
    this.buf.writeUInt32LE(frame.length, this.at + 12);
    frame.copy(this.buf, this.at + 16);
    this.at += 16 + frame.length;
  }
  private flush(): void {
    writeSync(this.fd, this.buf, 0, this.at);
    this.at = 0;
  }
  close(): number {
    this.flush();
    closeSync(this.fd);
    return this.frames;
  }
}

/**
 * tcpreplay from the scanner namespace at `pps`, `loops` times; bounded by the rate and a timeout.
 * Returns the frames it sent and those the kernel refused to send (tcpreplay's "Failed packets").
 */
export async function replay(
  bed: Testbed,
  file: string,
  pps: number,
  loops = 1,
): Promise<{ sent: number; failed: number }> {
  const args = [`--pps=${pps}`, `--loop=${loops}`, '-i', bed.scannerIf, file];
  const r = await bed.exec(bed.scannerNs, 'tcpreplay', args, { timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(`tcpreplay: ${r.stderr.slice(0, 500)}`);
  const count = (what: string) => Number(new RegExp(`${what} packets:\\s+(\\d+)`).exec(r.stdout)?.[1] ?? NaN);
  return { sent: count('Successful'), failed: count('Failed') };
}

export interface FloodSpec {
  ports: [number, number];
  /** Connections kept in flight. */
  inflight: number;
  /** Bound on connections opened in all, and on time. */
  max: number;
  ms: number;
  /** Bytes each connection sends; hold: keep the connection open after them until the sensor closes it. */
  payload: number;
  hold: boolean;
}

export interface FloodResult {
  opened: number;
  connected: number;
  peak: number;
}

/** Node in the scanner namespace keeping `inflight` connections to the sensor; prints what it did. */
export function flood(bed: Testbed, f: FloodSpec): Promise<FloodResult> {
  const script = `
    const net = require('node:net');
    const f = ${JSON.stringify(f)};
    const end = Date.now() + f.ms; const payload = Buffer.alloc(f.payload, 0x41);
    let opened = 0, connected = 0, open = 0, est = 0, peak = 0, stopped = false;
    const finish = () => { if (stopped) return; stopped = true;
      process.stdout.write(JSON.stringify({ opened, connected, peak }) + '\\n'); process.exit(0); };
    const one = () => {
      if (opened >= f.max || Date.now() > end) { if (open === 0) finish(); return; }
      opened++; open++;
      const port = f.ports[0] + (opened % (f.ports[1] - f.ports[0] + 1));
      const s = net.connect(port, '${bed.sensorIp}');
      let up = false;
      s.on('connect', () => { up = true; connected++; est++; peak = Math.max(peak, est);
        if (f.hold) s.write(payload); else s.end(payload); });
      s.on('error', () => {});
      s.on('close', () => { open--; if (up) est--; setImmediate(one); });
    };
    for (let i = 0; i < f.inflight; i++) one();
    setTimeout(finish, f.ms + 15000);`;
  return bed.exec(bed.scannerNs, process.execPath, ['-e', script], { timeoutMs: f.ms + 30_000 }).then((r) => {
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (!line.startsWith('{')) throw new Error(`flood client: ${r.stderr.slice(0, 500)}`);
    return JSON.parse(line) as FloodResult;
  });
}

/** Bytes under dir as du counts them: apparent (-b) and allocated on disk (-B1). */
export async function du(bed: Testbed, dir: string): Promise<{ apparent: number; allocated: number }> {
  const one = async (flag: string) => {
    const r = await bed.exec(bed.sensorNs, 'du', ['-s', flag, dir], { timeoutMs: 30_000 });
    return Number(r.stdout.split('\t')[0]);
  };
  return { apparent: await one('-b'), allocated: await one('-B1') };
}
