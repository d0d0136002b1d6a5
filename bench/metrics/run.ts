// Metrics and blocking benchmark: what /metrics and --block cost on the hot and the decision paths.
// Usage: node dist/bench/metrics/run.js [--probes 2000000] [--runs 5]
// 1. Probe events through the bus with the metrics component subscribed (per-port counting) beside a bus
//    whose only subscriber counts (the floor of any subscriber), same events, same run.
// 2. render() of the full registry (100 labelled ports + "other", every stats counter, process metrics)
//    beside render() of a bare prom-client registry with only the default process metrics.
// 3. One block decision's safety check on this host (reads /proc/net/tcp{,6}) beside a plain readFileSync
//    of /proc/net/tcp alone.
import { readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { parseArgs } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/core/bus.js';
import type { SensorContext } from '../../src/core/context.js';
import type { ProbeEvent } from '../../src/core/events.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { startMetrics } from '../../src/export/prometheus.js';
import { Safety } from '../../src/firewall/safety.js';

const { values: argv } = parseArgs({
  options: { probes: { type: 'string', default: '2000000' }, runs: { type: 'string', default: '5' } },
});
const N = Number(argv.probes);
const RUNS = Number(argv.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const ctx = (): SensorContext => ({
  cfg: loadConfig({ flags: { capture: 'eth0' }, env: {} }),
  bus: new EventBus(),
  log: createLogger('fatal'),
  stats: new Stats(),
});

// Pre-built events: random ports (Zipf-like: a few busy ones), so the port counting is exercised.
const events: ProbeEvent[] = [];
for (let i = 0; i < 65536; i++) {
  const dport =
    Math.random() < 0.5 ? [22, 23, 80, 443, 445, 3389, 8080][i % 7]! : (Math.random() * 65536) | 0;
  events.push({
    type: 'probe',
    time: 0,
    via: 'capture',
    proto: i % 10 ? 'tcp' : 'udp',
    kind: 'syn',
    src: '198.18.0.2',
    dst: '198.18.0.1',
    sport: 1,
    dport,
  });
}

function pump(bus: EventBus): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) bus.emit(events[i & 65535]!);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const withMetrics: number[] = [];
const floor: number[] = [];
const c = ctx();
const metrics = await startMetrics(c);
for (let r = 0; r < RUNS; r++) {
  withMetrics.push(N / pump(c.bus));
  const bus = new EventBus();
  let n = 0;
  bus.on('probe', () => void n++);
  floor.push(N / pump(bus));
}
console.log(`probes/s through the bus, metrics subscribed: ${fmt(median(withMetrics))}`);
console.log(`probes/s through the bus, counting only:      ${fmt(median(floor))}`);
console.log(`ratio: ${(median(withMetrics) / median(floor)).toFixed(2)}`);

for (let i = 0; i < 60; i++) c.stats.inc(`bench_counter_${i}_total`, i);
const bare = new Registry();
collectDefaultMetrics({ register: bare });
const full: number[] = [];
const ref: number[] = [];
let bytes = 0;
for (let r = 0; r < Math.max(9, RUNS); r++) {
  let t0 = process.hrtime.bigint();
  bytes = (await metrics.render()).body.length;
  full.push(Number(process.hrtime.bigint() - t0) / 1e6);
  t0 = process.hrtime.bigint();
  await bare.metrics();
  ref.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log(`render() full registry: ${median(full).toFixed(2)} ms (${fmt(bytes)} bytes)`);
console.log(`render() bare default metrics: ${median(ref).toFixed(2)} ms`);

const safety = new Safety({ allow: new BlockList(), sshPort: 22 });
const cold: number[] = [];
const warm: number[] = [];
const read: number[] = [];
const base = Date.now();
for (let r = 0; r < 21; r++) {
  // A clock 10 s further each round: every host fact is re-read (a lone decision).
  let t0 = process.hrtime.bigint();
  safety.check({ ip: '198.51.100.77', family: 4 }, base + r * 10_000);
  cold.push(Number(process.hrtime.bigint() - t0) / 1e6);
  // Same clock: the next decision of a burst (cached host facts and connection table).
  t0 = process.hrtime.bigint();
  safety.check({ ip: '198.51.100.78', family: 4 }, base + r * 10_000);
  warm.push(Number(process.hrtime.bigint() - t0) / 1e6);
  t0 = process.hrtime.bigint();
  readFileSync('/proc/net/tcp', 'utf8');
  read.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const sockets = readFileSync('/proc/net/tcp', 'utf8').split('\n').length - 2;
console.log(
  `safety check, lone decision: ${median(cold).toFixed(3)} ms; next in a burst: ${median(warm).toFixed(4)} ms`,
);
console.log(`readFileSync /proc/net/tcp alone: ${median(read).toFixed(3)} ms (${sockets} IPv4 sockets)`);
await metrics.close();
