// Memory the detector's tables retain: 1M distinct IPv4 sources, each sending 3 SYNs to 3 ports (masscan-
// like headers), through tagger + detectors; the heap after full collections minus the heap before.
// --spoofed: each source sends a 16-port sweep instead (the spoofed flood: every source opens an episode).
// Usage: node --expose-gc dist/bench/detect/retained.js [--max-sources N] [--passes N] [--spoofed]
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/core/bus.js';
import type { SensorContext } from '../../src/core/context.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { startDetectors, startTagger } from '../../src/detect/index.js';

const { values: a } = parseArgs({
  options: {
    'max-sources': { type: 'string', default: '1000000' },
    sources: { type: 'string', default: '1000000' },
    passes: { type: 'string', default: '3' },
    spoofed: { type: 'boolean', default: false },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const maxSources = Number(a['max-sources']);
const SOURCES = Number(a.sources);
const cfg = { ...loadConfig({ env: {} }), capture: 'bench', maxSources, sensor: 'bench' };
const ctx: SensorContext = { cfg, bus: new EventBus(), log: createLogger('silent'), stats: new Stats() };
const tagger = await startTagger(ctx);
const detectors = await startDetectors(ctx, { tagsFor: tagger.tagsFor });
gc();
const before = process.memoryUsage().heapUsed;
const t = Date.now();
const passes = a.spoofed ? 16 : Number(a.passes);
for (let s0 = 0; s0 < SOURCES * passes; s0++) {
  // Uniform: pass by pass over all sources. Spoofed: one source's whole sweep, then the next source.
  const [s, pass] = a.spoofed
    ? [Math.floor(s0 / passes), s0 % passes]
    : [s0 % SOURCES, Math.floor(s0 / SOURCES)];
  const seq = ((pass * SOURCES + s) * 2654435761) >>> 0;
  const dport = a.spoofed ? 3000 + pass : 22 + ((s + pass) % 3) * 1000;
  ctx.bus.emit({
    type: 'probe',
    time: t,
    via: 'capture',
    proto: 'tcp',
    kind: 'syn',
    src: `10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}`,
    dst: '198.18.0.1',
    sport: 40000 + (s & 1023),
    dport,
    ttl: 250,
    ipId: (0xc6120001 ^ dport ^ seq) & 0xffff,
    window: 1024,
    seq,
    options: [],
  });
}
gc();
await new Promise<void>((r) => setImmediate(r));
gc();
const retained = (process.memoryUsage().heapUsed - before) / 1048576;
console.log(
  `max-sources ${maxSources}: ${SOURCES} ${a.spoofed ? 'spoofed ' : ''}sources x ${passes} probes; retained ${retained.toFixed(1)} MiB ` +
    `(${Math.round((retained * 1048576) / Math.min(SOURCES, maxSources))} B per source held), ` +
    `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB; episodes ${ctx.stats.get('scan_episodes_total')}, ` +
    `open ${ctx.stats.get('scan_episodes_open')}`,
);
await detectors.close();
await tagger.close();
process.exit(0);
