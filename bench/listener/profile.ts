// Where a tidewatch process spent its CPU: reads V8 .cpuprofile files (node --cpu-prof, written by
// `run.js --profile DIR`) and prints self time grouped by the part of the code it ran in (src/ folder, or
// Node's internals, the garbage collector, idle), then the top functions. Shares are of the busy time.
// Counting starts at the first sample that handles an engine batch, so start-up is left out.
// Usage: node dist/bench/listener/profile.js FILE.cpuprofile... [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});

/** The group a frame's self time is counted in. */
function groupOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native: ' + (fn || 'anonymous') + ')';
  const src = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)/.exec(url);
  if (src) return src[1]!.replace(/\.js$/, '');
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  if (url.includes('node_modules/')) return 'npm:' + url.split('node_modules/')[1]!.split('/')[0];
  return url;
}

const groups = new Map<string, number>();
const fns = new Map<string, number>();
let total = 0;
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  let loaded = false;
  p.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const dt = p.timeDeltas[i] ?? 0;
    const { functionName: fn, url, lineNumber } = n.callFrame;
    loaded ||= fn === 'deliverBatch' || fn === 'decodeRecords';
    if (fn === '(idle)' || !loaded) return;
    total += dt;
    const g = groupOf(url, fn);
    groups.set(g, (groups.get(g) ?? 0) + dt);
    const key = `${fn || '(anonymous)'} ${g}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + dt);
  });
}
const show = (m: Map<string, number>, n: number) => {
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    );
};
console.log(`busy (not idle) ${(total / 1000).toFixed(0)} ms in ${positionals.length} profile(s)\nby part:`);
show(groups, 30);
console.log('top functions (self time):');
show(fns, Number(values.top));
