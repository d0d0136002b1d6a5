import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { localListeners, localListenersAsync, portsInStates } from './local-listeners.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:2093 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:2093 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0100007F:C350 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0
`;

test('parses LISTEN entries of /proc/net/tcp and tcp6 and ignores connections', () => {
  assert.deepEqual(portsInStates(TCP, new Set([0x0a])), [22, 8339]);
  assert.deepEqual(portsInStates(TCP6, new Set([0x0a])), [443]);
  assert.deepEqual(portsInStates('garbage\nnot a line\n 1: zz:zz 0 0A\n', new Set([0x0a])), []);
});

test('sees a real TCP listener and an unconnected UDP socket of this process', async () => {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const udp = createSocket('udp6');
  udp.bind(0, '::1');
  await once(udp, 'listening');
  try {
    const tcpPort = (server.address() as { port: number }).port;
    const udpPort = udp.address().port;
    const l = localListeners();
    assert.ok(l.tcp.includes(tcpPort), `tcp ${tcpPort}`);
    assert.ok(l.udp.includes(udpPort), `udp ${udpPort}`);
    const a = await localListenersAsync();
    assert.ok(a.tcp.includes(tcpPort) && a.udp.includes(udpPort));
  } finally {
    server.close();
    udp.close();
  }
});
