// The whole sensor in tproxy mode (`tidewatch run --listen tproxy`): real local services keep their traffic,
// the SSH port and the sensor's own --http port are never taken, and no nftables table, ip rule or route of
// tidewatch remains after SIGTERM, nor after SIGKILL followed by a new start and stop (in any mode).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, startSensor, tempDir } from '../helpers/sensor.js';
import { isRoot, withTestbed } from '../helpers/testbed.js';
import * as sc from './listener-scenarios.js';
import { addDecoyRoutes, firewallState, leftovers, ncTcp, startService } from './tproxy-helpers.js';

const skip = isRoot() ? false : 'needs root (network namespaces, nftables)';
const ARGS = [
  '--listen',
  'tproxy',
  '--store',
  'off',
  '--geoip',
  'off',
  '--tls',
  'off',
  '--idle-timeout',
  '2s',
];

test(
  'tproxy mode: local services, SSH and --http ports untouched; nothing left after SIGTERM',
  { skip },
  async () => {
    await withTestbed(async (bed) => {
      await addDecoyRoutes(bed);
      // A real service started before tidewatch.
      startService(bed, 7777, 'real-service\n');
      await eventually(
        async () => (await bed.exec(bed.sensorNs, 'ss', ['-Hltn'])).stdout.includes(':7777'),
        5000,
      );
      const sensor = await startSensor(bed, [...ARGS, '--ssh-port', '2200', '--http', '0.0.0.0:8339']);
      const t: sc.ListenerTarget = {
        bed,
        sensor,
        host4: bed.sensorIp,
        host6: bed.sensorIp6,
        tcpPorts: [7000, 7776, 7778],
        udpPorts: [7000],
        bufsize: 8192,
      };
      assert.equal(leftovers(await firewallState(bed)).length, 3, 'rules installed while running');
      // Taken: neighbouring ports, and a decoy.
      await sc.ncTcp(t);
      await sc.ncUdp(t);
      await sc.ncTcp({ ...t, host4: '198.18.1.99' });
      // Not taken: the real service answers itself.
      assert.equal(await ncTcp(bed, bed.sensorIp, 7777, 'hello'), 'real-service\n');
      // Not taken: --ssh-port (nothing listens there: the kernel refuses it).
      assert.equal(await ncTcp(bed, bed.sensorIp, 2200, 'ssh?'), '');
      // Not taken: the sensor's own dashboard port answers HTTPS (an auth error is fine: it is the dashboard).
      const http = await bed.exec(bed.scannerNs, 'curl', [
        '-sk',
        '-m',
        '5',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `https://${bed.sensorIp}:8339/`,
      ]);
      assert.match(http.stdout, /^[1-5]\d\d$/, `dashboard reached: ${http.stdout} ${http.stderr}`);
      await new Promise((r) => setTimeout(r, 500));
      const taken = sc.records(t).map((r) => r.flow.dport);
      for (const p of [7777, 2200, 8339]) assert.ok(!taken.includes(p), `port ${p} was taken`);

      assert.equal(await sensor.stop('SIGTERM'), 0);
      assert.deepEqual(leftovers(await firewallState(bed)), []);
    });
  },
);

test(
  'tproxy mode: after SIGKILL, the next start cleans up first and its stop leaves nothing',
  { skip },
  async () => {
    await withTestbed(async (bed) => {
      await addDecoyRoutes(bed);
      const dataDir = tempDir();
      const first = await startSensor(bed, [...ARGS, '--http', 'off'], { dataDir });
      assert.equal(await first.stop('SIGKILL'), 'SIGKILL');
      assert.equal(leftovers(await firewallState(bed)).length, 3, 'SIGKILL leaves the rules behind');

      const second = await startSensor(bed, [...ARGS, '--http', 'off'], { dataDir });
      const state = await firewallState(bed);
      assert.equal(
        state.rules.match(/0x7477/g)?.length,
        2,
        `exactly one ip rule per family:\n${state.rules}`,
      );
      await sc.ncTcp({
        bed,
        sensor: second,
        host4: '198.18.1.7',
        host6: '2001:2:1::7',
        tcpPorts: [4242],
        udpPorts: [],
        bufsize: 8192,
      });
      // SIGINT (Ctrl-C) cleans up like SIGTERM.
      assert.equal(await second.stop('SIGINT'), 0);
      assert.deepEqual(leftovers(await firewallState(bed)), []);
    });
  },
);

test(
  'after SIGKILL in tproxy mode with blocking, a start in ports mode removes both tables, rules and routes',
  { skip },
  async () => {
    await withTestbed(async (bed) => {
      const dataDir = tempDir();
      const first = await startSensor(bed, [...ARGS, '--http', 'off', '--block', 'on'], { dataDir });
      const held = await firewallState(bed);
      assert.match(held.tables, /tidewatch_block/);
      // A live sensor owns the data dir: a second start there is refused and changes nothing.
      const refused = await startSensor(bed, [...ARGS, '--http', 'off'], { dataDir }).then(
        (s) => s.stop('SIGKILL').then(() => 'started'),
        (err: Error) => err.message,
      );
      assert.match(refused, /in use by a running tidewatch/);
      assert.deepEqual(await firewallState(bed), held);

      assert.equal(await first.stop('SIGKILL'), 'SIGKILL');
      assert.equal(leftovers(await firewallState(bed)).length, 3, 'SIGKILL leaves the rules behind');
      const ports = ['--listen', 'ports', '--tcp-ports', '4243', '--udp-ports', '', '--store', 'off'];
      const second = await startSensor(bed, [...ports, '--geoip', 'off', '--http', 'off'], { dataDir });
      assert.deepEqual(leftovers(await firewallState(bed)), [], 'nothing of the killed run is left');
      assert.ok(second.logs.some((l) => l.includes('removed what a killed tidewatch left')));
      assert.equal(await second.stop('SIGTERM'), 0);
      assert.ok(!existsSync(join(dataDir, 'tidewatch.pid')), 'a clean stop removes the lock');
    });
  },
);
