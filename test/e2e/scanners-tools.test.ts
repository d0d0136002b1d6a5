// masscan, zmap and hping3 from the scanner namespace against a live sensor, each at a bounded rate and
// count: one scan episode per run, tagged with the tool.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProbeKind } from '../../src/core/events.js';
import { startSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import { emptyBlocklist, masscanRun, openScan, scans, sensorArgs, sleep } from './scanners-lib.js';

const skip = !isRoot() && 'needs root';
let bed: Testbed;
before(async () => {
  if (!skip) bed = await createTestbed();
});
after(async () => bed?.destroy());

async function toolRun(
  src: string,
  cmd: string,
  args: string[],
  want: { probe: ProbeKind; tool: string; kind?: string },
) {
  const s = await startSensor(bed, sensorArgs(bed));
  try {
    const r = await bed.exec(bed.scannerNs, cmd, args, { timeoutMs: 45_000 });
    assert.equal(r.code, 0, `${cmd}: ${r.stderr.slice(0, 500)}`);
    const open = await openScan(s, src);
    await sleep(1500);
    assert.equal(open.probe, want.probe, JSON.stringify(open));
    assert.equal(open.tool, want.tool, JSON.stringify(open));
    if (want.kind) assert.equal(open.kind, want.kind);
  } finally {
    await s.stop();
  }
  const all = scans(s, src);
  assert.equal(new Set(all.map((e) => e.id)).size, 1, `one episode: ${JSON.stringify(all)}`);
  assert.equal(all.filter((e) => e.state === 'open').length, 1);
  assert.equal(scans(s).length, all.length, 'no scan from anyone else');
}

test('masscan at 1000 pps: one syn scan tagged masscan', { skip }, () =>
  toolRun('198.18.0.50', ...masscanRun(bed, '198.18.0.50'), {
    probe: 'syn',
    tool: 'masscan',
    kind: 'vertical',
  }),
);

test('zmap at 1000 pps over a /26: one horizontal syn scan tagged zmap', { skip }, () =>
  toolRun(
    bed.scannerIp,
    'zmap',
    [
      '-p',
      '80',
      '198.18.0.0/26',
      '-i',
      bed.scannerIf,
      '-G',
      bed.sensorMac,
      '-S',
      bed.scannerIp,
      '-r',
      '1000',
      '-b',
      emptyBlocklist(),
      '-o',
      '-',
      '-c',
      '1',
      '-q',
    ],
    { probe: 'syn', tool: 'zmap', kind: 'horizontal' },
  ),
);

test('hping3 with a count: one syn scan tagged hping3', { skip }, () =>
  toolRun(bed.scannerIp, 'hping3', ['-S', '-p', '++1', '-c', '30', '-i', 'u5000', bed.sensorIp], {
    probe: 'syn',
    tool: 'hping3',
    kind: 'vertical',
  }),
);
