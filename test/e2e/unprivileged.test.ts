// The sensor as a non-root user holding only CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE, started
// two ways: by setpriv (as systemd's AmbientCapabilities would) and by `--user nobody` from root. Ports below
// 1024, capture, blocking and tproxy mode all work; every file in the data dir belongs to that user; and no
// thread of the process holds a capability beyond those.
import assert from 'node:assert/strict';
import { chownSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, readJsonLines, startSensor, tempDir, type RunningSensor } from '../helpers/sensor.js';
import { isRoot, withTestbed, type Testbed } from '../helpers/testbed.js';
import { blockEvent, sensorArgs, tryConnect } from './scanners-lib.js';
import { firewallState, leftovers, ncTcp } from './tproxy-helpers.js';

const skip = isRoot() ? false : 'needs root (network namespaces, setpriv)';
const NOBODY = 65534;
const CAPS = 'net_admin,net_raw,net_bind_service';
const SETPRIV = [
  'setpriv',
  `--reuid=${NOBODY}`,
  `--regid=${NOBODY}`,
  '--clear-groups',
  `--inh-caps=-all,+${CAPS.replace(/,/g, ',+')}`,
  `--ambient-caps=-all,+${CAPS.replace(/,/g, ',+')}`,
  `--bounding-set=-all,+${CAPS.replace(/,/g, ',+')}`,
  '--',
];
// Bits 10, 12, 13 of the capability sets.
const ALLOWED = (1n << 10n) | (1n << 12n) | (1n << 13n);

type Launch = 'setpriv' | 'user';

function start(bed: Testbed, launch: Launch, args: string[]): Promise<RunningSensor> {
  const dataDir = tempDir();
  if (launch === 'setpriv') {
    chownSync(dataDir, NOBODY, NOBODY);
    return startSensor(bed, args, { dataDir, wrap: SETPRIV });
  }
  return startSensor(bed, [...args, '--user', 'nobody'], { dataDir });
}

/** Uid and capability sets of every thread of the sensor. */
function threads(pid: number): { uid: number; prm: bigint; eff: bigint; amb: bigint }[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => {
    const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    const field = (k: string) =>
      /^(\S+)\s+(\S+)/.exec(st.split('\n').find((l) => l.startsWith(k)) ?? '')?.[2] ?? '';
    return {
      uid: Number(/^Uid:\s+(\d+)/m.exec(st)?.[1]),
      prm: BigInt(`0x${field('CapPrm:').slice(-16) || '0'}`),
      eff: BigInt(`0x${field('CapEff:').slice(-16) || '0'}`),
      amb: BigInt(`0x${field('CapAmb:').slice(-16) || '0'}`),
    };
  });
}

function checkProcessAndFiles(s: RunningSensor): void {
  for (const t of threads(s.proc.pid!)) {
    assert.equal(t.uid, NOBODY);
    assert.equal(t.prm & ~ALLOWED, 0n, `a thread holds more than ${CAPS}: ${t.prm.toString(16)}`);
  }
  const owners = [
    s.dataDir,
    ...readdirSync(s.dataDir, { recursive: true }).map((n) => join(s.dataDir, String(n))),
  ]
    .map((p) => [p, lstatSync(p).uid] as const)
    .filter(([, uid]) => uid !== NOBODY);
  assert.deepEqual(owners, [], 'files in the data dir belong to the sensor user');
}

for (const launch of ['setpriv', 'user'] as const) {
  test(`as nobody (${launch}): a port below 1024, capture and blocking`, { skip }, async () => {
    await withTestbed(async (bed) => {
      const s = await start(bed, launch, sensorArgs(bed, ['--block', 'on', '--block-for', '30s']));
      try {
        assert.ok((await tryConnect(bed, bed.sensorIp, 80)).ok, 'port 80 is bound');
        // A SYN scan is seen by capture (closed ports) and the scanner is blocked through nft.
        const nmap = '-n -Pn -sS -p 1-100 --max-retries 0 --host-timeout 15s'.split(' ');
        await bed.exec(bed.scannerNs, 'nmap', [...nmap, bed.sensorIp]);
        await blockEvent(s, bed.scannerIp, 'added');
        assert.match(
          (await bed.exec(bed.sensorNs, 'nft', ['list', 'table', 'inet', 'tidewatch_block'])).stdout,
          new RegExp(bed.scannerIp.replace(/\./g, '\\.')),
        );
        const main = threads(s.proc.pid!)[0]!;
        if (launch === 'user') {
          // Once up, --user keeps CAP_NET_ADMIN (blocking) and CAP_NET_RAW (capture), not NET_BIND_SERVICE.
          assert.equal(main.prm, (1n << 12n) | (1n << 13n));
          assert.equal(main.amb, (1n << 12n) | (1n << 13n));
        }
        assert.notEqual(main.eff & (1n << 12n), 0n);
        checkProcessAndFiles(s);
      } finally {
        assert.equal(await s.stop('SIGTERM'), 0);
      }
      assert.deepEqual(leftovers(await firewallState(bed)), [], 'the block table is removed as nobody');
    });
  });

  test(`as nobody (${launch}): tproxy mode takes connections and cleans up`, { skip }, async () => {
    await withTestbed(async (bed) => {
      const args = '--listen tproxy --store off --geoip off --tls off --http off'.split(' ');
      const s = await start(bed, launch, args);
      try {
        await ncTcp(bed, bed.sensorIp, 7000, 'hello tproxy');
        const sessions = () => readJsonLines<{ flow: { dport: number } }>(join(s.dataDir, 'sessions'));
        assert.ok(
          await eventually(() => sessions().some((r) => r.flow.dport === 7000), 10_000),
          'session recorded',
        );
        checkProcessAndFiles(s);
      } finally {
        assert.equal(await s.stop('SIGTERM'), 0);
      }
      assert.deepEqual(
        leftovers(await firewallState(bed)),
        [],
        'TPROXY table, rules and routes removed as nobody',
      );
    });
  });
}
