// The TypeScript counting path alone (addon batches -> decoders -> counters), the same work as pcount.c:
// no per-source table, no JSON. Prints {"packets":…,"malformed":…} so the bench can check the work.
// Usage: node dist/bench/capture/count.js FILE
import { PacketCounters } from '../../src/capture/counters.js';
import { readFileBatches } from '../../src/capture/source.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: count.js FILE\n');
  process.exit(2);
}
const c = new PacketCounters({ excludePrivate: false, onlyDst: [] });
await readFileBatches(file, '', (buf, count, lt) => c.addBatch(buf, count, lt));
const s = c.snapshot();
process.stdout.write(JSON.stringify({ packets: s.packets, malformed: s.malformed }) + '\n');
