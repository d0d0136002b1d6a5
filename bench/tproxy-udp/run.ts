// UDP datagrams per second received with their ORIGINAL destination through TPROXY (the transparent-socket
// addon, batched recvmmsg) beside plain node:dgram on one port (no original destination), measured in the
// same run. A C sendmmsg flooder in the scanner namespace sends N datagrams of 64 bytes: to random
// addresses of 198.18.1.0/24 on random ports for TPROXY, to one address and port for dgram.
// Two loads: flat out (what each receiver can take: its rate at saturation) and paced at --rate (loss and
// CPU per datagram below saturation). Both receivers get the same 8 MiB receive buffer.
// Usage: node dist/bench/tproxy-udp/run.js [--count 500000] [--runs 3] [--rate 100000]
// Needs root (namespaces, nftables inside them) and gcc.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../../test/helpers/sensor.js';
import { createTestbed, type Testbed } from '../../test/helpers/testbed.js';

const { values: argv } = parseArgs({
  options: {
    count: { type: 'string', default: '500000' },
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '100000' },
  },
});
const COUNT = Math.min(Number(argv.count), 5_000_000);
const RUNS = Math.min(Number(argv.runs), 20);
const RATE = Math.max(1000, Number(argv.rate));

interface Result {
  mode: string;
  received: number;
  wrongDst: number;
  perSecond: number;
  cpuUsPerDatagram: number;
  perBatch: number;
  sent: number;
}

const dir = mkdtempSync(join(tmpdir(), 'tw-bench-udp-'));
const flood = join(dir, 'flood');
execFileSync('gcc', ['-O2', '-o', flood, join(REPO, 'bench/tproxy-udp/flood.c')]);

async function once(bed: Testbed, mode: 'tproxy' | 'dgram', rate: number): Promise<Result> {
  const rx = bed.spawn(bed.sensorNs, process.execPath, [
    join(REPO, 'dist/bench/tproxy-udp/receiver.js'),
    mode,
    '39999',
  ]);
  let out = '';
  let err = '';
  rx.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => rx.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    rx.on('exit', (c) => reject(new Error(`receiver exited ${c}: ${err}`)));
    rx.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready"')) resolve();
    });
  });
  const target = mode === 'tproxy' ? ['198.18.1.0/24', '0'] : [bed.sensorIp, '39999'];
  const f = await bed.exec(bed.scannerNs, flood, [String(COUNT), '64', ...target, String(rate)], {
    timeoutMs: 120_000,
  });
  if (f.code !== 0) throw new Error(`flood: ${f.stderr}`);
  await exited;
  const r = JSON.parse(out.trim().split('\n').pop()!) as Result;
  r.sent = (JSON.parse(f.stdout) as { sent: number }).sent;
  return r;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bed = await createTestbed();
try {
  await bed.exec(bed.scannerNs, 'ip', ['route', 'add', '198.18.1.0/24', 'via', bed.sensorIp]);
  // Same receive buffer for both: node:dgram's SO_RCVBUF is capped by rmem_max, the addon forces its own.
  await bed.exec(bed.sensorNs, 'sysctl', ['-w', 'net.core.rmem_max=8388608']);
  for (const rate of [0, RATE]) {
    const results: Record<string, Result[]> = { tproxy: [], dgram: [] };
    for (let i = 0; i < RUNS; i++)
      for (const mode of ['tproxy', 'dgram'] as const) {
        const r = await once(bed, mode, rate);
        results[mode]!.push(r);
        console.log(JSON.stringify(r));
      }
    const row = (mode: string) => {
      const rs = results[mode]!;
      return {
        perSecond: median(rs.map((r) => r.perSecond)),
        cpuUs: median(rs.map((r) => r.cpuUsPerDatagram)),
        loss: median(rs.map((r) => 1 - r.received / r.sent)),
        perBatch: median(rs.map((r) => r.perBatch)),
        wrongDst: Math.max(...rs.map((r) => r.wrongDst)),
      };
    };
    const t = row('tproxy');
    const d = row('dgram');
    const fmt = (name: string, x: ReturnType<typeof row>) =>
      `${name.padEnd(25)}${String(x.perSecond).padStart(11)}  ${x.cpuUs.toFixed(2).padStart(15)}  ` +
      `${(x.loss * 100).toFixed(2).padStart(6)}%  ${x.perBatch.toFixed(1).padStart(10)}`;
    console.log(
      `\n${rate ? `paced at ${rate}/s` : 'flat out'}: ${COUNT} datagrams of 64 B per run, ${RUNS} runs, medians`,
    );
    console.log('receiver                 datagrams/s  CPU µs/datagram    loss  per wakeup');
    console.log(fmt('TPROXY addon (orig dst)', t));
    console.log(fmt('node:dgram (no orig dst)', d));
    console.log(
      `ratio TPROXY/dgram: rate ${(t.perSecond / d.perSecond).toFixed(2)}, CPU per datagram ` +
        `${(t.cpuUs / d.cpuUs).toFixed(2)}; wrong original destinations: ${t.wrongDst}\n`,
    );
  }
} finally {
  await bed.destroy();
  rmSync(dir, { recursive: true, force: true });
}
