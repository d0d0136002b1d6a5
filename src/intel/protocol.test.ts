import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { APPS, type App, identify } from './protocol.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const txt = (s: string): Buffer => Buffer.from(s, 'latin1');

// First bytes as real clients send them (captured from curl, openssl, ssh, nmap probes, redis-cli, psql,
// mysql, mosquitto_pub, dig, ntpdate, snmpwalk...), one or more per app.
const FIXTURES: [App, 'tcp' | 'udp' | 'tls', Buffer][] = [
  [
    'http',
    'tcp',
    txt('GET / HTTP/1.1\r\nHost: 198.18.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n'),
  ],
  ['http', 'tcp', txt('POST /GponForm/diag_Form?images/ HTTP/1.1\r\n')],
  ['http', 'tls', txt('GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n')],
  ['tls', 'tcp', hex('16 03 01 02 00 01 00 01 fc 03 03 8a 1d')],
  ['tls', 'tls', Buffer.alloc(0)],
  ['ssh', 'tcp', txt('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')],
  ['telnet', 'tcp', hex('ff fd 01 ff fd 1f ff fb 01 ff fb 03')],
  [
    'rdp',
    'tcp',
    hex(
      '03 00 00 2b 26 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 6e 6d 61 70 0d 0a 01 00 08 00 03 00 00 00',
    ),
  ],
  ['smb', 'tcp', hex('00 00 00 85 ff 53 4d 42 72 00 00 00 00 18 53 c8')],
  ['smb', 'tcp', hex('00 00 00 b4 fe 53 4d 42 40 00 00 00 00 00 00 00')],
  ['sip', 'udp', txt('OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=foo\r\n\r\n')],
  ['sip', 'tcp', txt('REGISTER sip:198.18.0.1 SIP/2.0\r\n')],
  ['rtsp', 'tcp', txt('OPTIONS / RTSP/1.0\r\n\r\n')],
  ['rtsp', 'tcp', txt('DESCRIBE rtsp://198.18.0.1:554/live RTSP/1.0\r\nCSeq: 2\r\n\r\n')],
  ['redis', 'tcp', txt('*1\r\n$4\r\nPING\r\n')],
  ['redis', 'tcp', txt('INFO\r\n')],
  ['mqtt', 'tcp', hex('10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 74 65 73 74')],
  ['mqtt', 'tcp', hex('10 12 00 06 4d 51 49 73 64 70 03 02 00 3c 00 04 74 65 73 74')],
  [
    'mysql',
    'tcp',
    hex(
      '55 00 00 01 8d a6 ff 09 00 00 00 01 21 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 72 6f 6f 74 00 00',
    ),
  ],
  ['postgres', 'tcp', hex('00 00 00 08 04 d2 16 2f')],
  ['postgres', 'tcp', hex('00 00 00 29 00 03 00 00 75 73 65 72 00 70 6f 73 74 67 72 65 73 00 00')],
  ['mssql', 'tcp', hex('12 01 00 2f 00 00 01 00 00 00 1a 00 06 01 00 20 00 01 02 00 21 00 01 03')],
  ['jdwp', 'tcp', txt('JDWP-Handshake')],
  [
    'adb',
    'tcp',
    hex('43 4e 58 4e 00 00 00 01 00 10 00 00 07 00 00 00 32 02 00 00 bc b1 a7 b1 68 6f 73 74 3a 3a 00'),
  ],
  [
    'dns',
    'udp',
    hex('ab cd 01 20 00 01 00 00 00 00 00 01 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01'),
  ],
  [
    'dns',
    'tcp',
    hex('00 1d ab cd 01 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01'),
  ],
  ['ntp', 'udp', Buffer.concat([hex('e3 00 06 ec'), Buffer.alloc(44)])],
  ['ntp', 'udp', Buffer.concat([hex('17 00 03 2a'), Buffer.alloc(4)])],
  [
    'snmp',
    'udp',
    hex(
      '30 26 02 01 01 04 06 70 75 62 6c 69 63 a1 19 02 04 31 2d 7e 13 02 01 00 02 01 00 30 0b 30 09 06 05 2b 06 01 02 01 05 00',
    ),
  ],
  [
    'ssdp',
    'udp',
    txt(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n',
    ),
  ],
  ['memcached', 'udp', hex('00 00 00 00 00 01 00 00 73 74 61 74 73 0d 0a')],
  ['memcached', 'tcp', txt('stats\r\n')],
  ['modbus', 'tcp', hex('00 01 00 00 00 06 01 11 00 00 00 01')],
  ['s7', 'tcp', hex('03 00 00 16 11 e0 00 00 00 01 00 c0 01 0a c1 02 01 00 c2 02 01 02')],
  ['s7', 'tcp', hex('03 00 00 19 02 f0 80 32 01 00 00 00 00 00 08 00 00 f0 00 00 01 00 01 01 e0')],
  ['bacnet', 'udp', hex('81 0a 00 11 01 04 00 05 01 0c 0c 02 3f ff ff 19 4b')],
  ['coap', 'udp', hex('40 01 7d 70 bb 2e 77 65 6c 6c 2d 6b 6e 6f 77 6e 04 63 6f 72 65')],
  ['unknown', 'tcp', txt('hello\n')],
  ['unknown', 'tcp', hex('00 01 02 03 04 05')],
  ['unknown', 'udp', hex('00')],
];

test('every app has a fixture, and every fixture is identified', () => {
  for (const app of APPS)
    assert.ok(
      FIXTURES.some(([a]) => a === app),
      `no fixture for ${app}`,
    );
  for (const [app, proto, bytes] of FIXTURES)
    assert.equal(
      identify(bytes, proto),
      app,
      `${app} fixture ${bytes.toString('hex').slice(0, 40)} (${proto})`,
    );
});

test('UDP-only signatures are not tried on TCP streams', () => {
  const ntpLike = Buffer.concat([hex('e3 00 06 ec'), Buffer.alloc(44)]);
  assert.equal(identify(ntpLike, 'tcp'), 'unknown');
});

test('the classifier never throws on any bytes and returns a known app', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom('tcp', 'udp', 'tls'), (bytes, proto) => {
      const app = identify(Buffer.from(bytes), proto as 'tcp');
      assert.ok((APPS as readonly string[]).includes(app));
    }),
    { numRuns: 5000 },
  );
});
