// Detector throughput with 1 million distinct sources, beside a loop that only counts the same events on the
// same bus (same run, medians of 5 alternating rounds, ratio), and peak RSS with --max-sources 100k vs 1M;
// then the spoofed flood: 1 million spoofed sources, each a 16-port SYN sweep (each opens an episode that
// the alert budget keeps back), at the default --max-sources, beside the uniform case of the same run.
// Usage: node dist/bench/detect/run.js [--events N] [--sources N] [--rounds N]
//   (child mode, one configuration: --child --max-sources N [--case uniform|spoofed])
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/core/bus.js';
import type { SensorContext } from '../../src/core/context.js';
import type { ProbeEvent } from '../../src/core/events.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { startDetectors, startTagger } from '../../src/detect/index.js';

const { values: a } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    'max-sources': { type: 'string', default: '1000000' },
    events: { type: 'string', default: '3000000' },
    sources: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '5' },
    case: { type: 'string', default: 'uniform' },
  },
});
const SPOOFED = a.case === 'spoofed';
/** Ports per spoofed source: one more than --scan-ports (15), so each source opens an episode. */
const SWEEP = 16;
const EVENTS = Number(a.events);
const SOURCES = Number(a.sources);
const ROUNDS = Number(a.rounds);
const BATCH = 50_000;

/**
 * The event stream: source j % SOURCES (1M distinct IPv4 addresses from 10.0.0.0/8), rotating ports,
 * masscan-like headers (fingerprinted: the IP ID formula is computed per probe). Every 1000th event comes
 * from one of 100 scanners (11.0.0.0/24) probing a new port each time, so episodes open and grow.
 */
function makeProbe(j: number, t: number, ev: ProbeEvent): ProbeEvent {
  if (j % 1000 === 0) {
    const k = j / 1000;
    ev.src = `11.0.0.${k % 100}`;
    ev.dport = Math.floor(k / 100) & 0xffff;
  } else if (SPOOFED) {
    // The spoofed flood: source j / SWEEP sweeps ports 3000-3015, then is never seen again.
    const s = Math.floor(j / SWEEP) % SOURCES;
    ev.src = `10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}`;
    ev.dport = 3000 + (j % SWEEP);
  } else {
    const s = j % SOURCES;
    const pass = Math.floor(j / SOURCES);
    ev.src = `10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}`;
    ev.dport = 22 + ((s + pass) % 3) * 1000;
  }
  ev.sport = 40000 + (j & 1023);
  ev.seq = (j * 2654435761) >>> 0;
  ev.ipId = (0xc6120001 ^ ev.dport ^ ev.seq) & 0xffff;
  ev.time = t;
  return ev;
}

function template(): ProbeEvent {
  return {
    type: 'probe',
    time: 0,
    via: 'capture',
    proto: 'tcp',
    kind: 'syn',
    src: '',
    dst: '198.18.0.1',
    sport: 0,
    dport: 0,
    ttl: 250,
    ipId: 0,
    window: 1024,
    seq: 0,
    options: [],
  };
}

async function pass(bus: EventBus, from: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let j = from; j < from + EVENTS; j += BATCH) {
    const t = Date.now();
    const end = Math.min(j + BATCH, from + EVENTS);
    // A fresh object per event, as capture emits them (the tagger may keep references).
    for (let k = j; k < end; k++) bus.emit(makeProbe(k, t, template()));
    await new Promise<void>((r) => setImmediate(r)); // let the detector's sweep timer run, as in a sensor
  }
  return EVENTS / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function child(): Promise<void> {
  const maxSources = Number(a['max-sources']);
  const cfg = { ...loadConfig({ env: {} }), capture: 'bench', maxSources, sensor: 'bench' };
  const mk = (): SensorContext => ({
    cfg,
    bus: new EventBus(),
    log: createLogger('silent'),
    stats: new Stats(),
  });
  // Reference: the same events on a bus whose only subscriber counts them.
  const ref = mk();
  let counted = 0;
  ref.bus.on('probe', () => void counted++);
  // Detector: tagger + scan detector + spike detector as sensor.ts wires them.
  const det = mk();
  let scans = 0;
  det.bus.on('scan', () => void scans++);
  const tagger = await startTagger(det);
  const detectors = await startDetectors(det, { tagsFor: tagger.tagsFor });
  const refRates: number[] = [];
  const detRates: number[] = [];
  let from = 0;
  for (let r = 0; r < ROUNDS; r++) {
    refRates.push(await pass(ref.bus, from));
    detRates.push(await pass(det.bus, from));
    from += EVENTS;
  }
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  // Retained state: the heap after a full collection, detector still holding its tables.
  // Two full collections with a turn of the loop between: one alone sometimes left finished garbage counted.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise<void>((r) => setImmediate(r));
  gc?.();
  const heapMiB = process.memoryUsage().heapUsed / 1048576;
  await detectors.close();
  await tagger.close();
  console.log(
    JSON.stringify({
      maxSources,
      case: a.case,
      events: EVENTS,
      sources: SOURCES,
      rounds: ROUNDS,
      refMedian: Math.round(median(refRates)),
      detMedian: Math.round(median(detRates)),
      ratio: +(median(detRates) / median(refRates)).toFixed(4),
      peakRssMiB: Math.round(peakRssMiB),
      heapAfterGcMiB: Math.round(heapMiB),
      openEpisodes: det.stats.get('scan_episodes_open'),
      episodes: det.stats.get('scan_episodes_total'),
      suppressed: det.stats.get('scan_alerts_suppressed_total'),
      unreported: det.stats.get('scan_episodes_unreported_total'),
      episodesEvicted: det.stats.get('scan_episodes_evicted_total'),
      pendingDropped: det.stats.get('trw_pending_dropped_total'),
      evicted: det.stats.get('detect_sources_evicted_total'),
      tracked: det.stats.get('detect_sources'),
      scanEvents: scans,
      counted,
    }),
  );
}

function main(): void {
  const self = fileURLToPath(import.meta.url);
  console.log(
    `node ${process.version}; ${EVENTS} events per round, ${SOURCES} distinct sources, ${ROUNDS} rounds`,
  );
  // The spoofed flood sends every source SWEEP probes: enough events for SOURCES sources over all rounds.
  const spoofedEvents = Math.ceil((SOURCES * SWEEP) / ROUNDS);
  const runs: [number, string, number][] = [
    [100_000, 'uniform', EVENTS],
    [1_000_000, 'uniform', EVENTS],
    [1_000_000, 'spoofed', spoofedEvents],
  ];
  for (const [ms, kase, events] of runs) {
    const args = ['--child', '--max-sources', String(ms), '--case', kase, '--events', String(events)];
    const r = spawnSync(
      process.execPath,
      [self, ...args, '--sources', String(SOURCES), '--rounds', String(ROUNDS)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (r.status !== 0) {
      console.error(`child --max-sources ${ms} --case ${kase} failed`);
      process.exit(1);
    }
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    console.log(
      `${kase} max-sources ${ms} (${events} events a round): detector ${res.detMedian} ev/s, counting loop ${res.refMedian} ev/s, ratio ${res.ratio}; ` +
        `peak RSS ${res.peakRssMiB} MiB, heap after GC ${res.heapAfterGcMiB} MiB; sources tracked ${res.tracked}, evicted ${res.evicted}; ` +
        `episodes ${res.episodes} (alerts sent ${res.scanEvents}, suppressed ${res.suppressed}, open ${res.openEpisodes}, ` +
        `closed early ${res.episodesEvicted}, never reported ${res.unreported}); TRW attempts not judged (cap) ${res.pendingDropped}`,
    );
  }
}

if (a.child) await child();
else main();
