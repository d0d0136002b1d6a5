// The listener scenarios (listener-scenarios.ts) against the sensor in tproxy mode: clients in the scanner
// namespace aim at decoy addresses routed to the sensor (198.18.1.0/24, 2001:2:1::/64) on arbitrary ports;
// every record must name the decoy address and port the client aimed at.
import { after, before, describe, test } from 'node:test';
import { startSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed, withTestbed } from '../helpers/testbed.js';
import * as sc from './listener-scenarios.js';
import { addDecoyRoutes } from './tproxy-helpers.js';

const skip = isRoot() ? false : 'needs root (network namespaces, nftables)';
const BASE = [
  '--listen',
  'tproxy',
  '--http',
  'off',
  '--store',
  'off',
  '--geoip',
  'off',
  ...sc.SCENARIO_SENSOR_ARGS,
];
const BUFSIZE = 8192;
// Arbitrary ports: nothing is bound on them; TPROXY takes them all (22, the SSH port, is left alone).
const PORTS = [1, 21, 80, 443, 3389, 5060, 8080, 12345, 31337, 40000, 54321, 65535];
const HOST4 = '198.18.1.23';
const HOST6 = '2001:2:1::23';

describe('listener, tproxy mode', { skip }, () => {
  let bed: Testbed;
  let t: sc.ListenerTarget;

  before(async () => {
    bed = await createTestbed();
    await addDecoyRoutes(bed);
    const sensor = await startSensor(bed, [...BASE, '--bufsize', String(BUFSIZE)]);
    t = { bed, sensor, host4: HOST4, host6: HOST6, tcpPorts: PORTS, udpPorts: PORTS, bufsize: BUFSIZE };
  });
  after(async () => {
    await t?.sensor.stop().catch(() => {});
    await bed?.destroy();
  });

  test('nc over TCP', () => sc.ncTcp(t));
  test('nc over UDP', () => sc.ncUdp(t));
  test('a 60 KB datagram', () => sc.udpLarge(t));
  test('IPv6 client, TCP', () => sc.ncTcp(t, 6));
  test('IPv6 client, UDP', () => sc.ncUdp(t, 6));
  test("nc to the sensor's own addresses", async () => {
    await sc.ncTcp({ ...t, host4: bed.sensorIp });
    await sc.ncUdp({ ...t, host6: bed.sensorIp6 }, 6);
  });
  test('openssl s_client -servername: TLS with SNI and the decrypted request', async () => {
    await sc.opensslSni(t);
  });
  test('curl -k https://', () => sc.curlHttps(t));
  test('a plaintext and a TLS client on the same port', () => sc.plainAndTlsSamePort(t));
  test('a client that sends nothing', () => sc.silentClient(t));
  test('a client that sends 1 MB', () => sc.oneMegabyte(t));
  test('nmap -sV', () => sc.nmapVersionScan(t));
  // Last: it stops the sensor.
  test('SIGTERM writes open sessions with close "shutdown"', () => sc.shutdownWritesOpen(t));
});

describe('listener, tproxy mode, 2,000 parallel connections with --max-sessions 500', { skip }, () => {
  test('sheds beyond the cap, counts it, and records every session below it', async () => {
    await withTestbed(async (bed) => {
      await addDecoyRoutes(bed);
      const sensor = await startSensor(bed, [...BASE, '--tls', 'off', '--max-sessions', '500']);
      const t: sc.ListenerTarget = {
        bed,
        sensor,
        host4: HOST4,
        host6: HOST6,
        tcpPorts: [8080],
        udpPorts: [],
        bufsize: 8192,
      };
      await sc.sheddingFlood(t);
    });
  });
});
