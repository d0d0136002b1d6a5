import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { test } from 'node:test';
import {
  canonicalAddr,
  gatewaysFromProc,
  hasForeignConnection,
  parseAllow,
  parseProcTcp,
  Safety,
  type TcpEntry,
} from './safety.js';

test('canonicalAddr accepts IPv4/IPv6, maps ::ffff:, rejects the rest', () => {
  assert.deepEqual(canonicalAddr('198.18.0.2'), { ip: '198.18.0.2', family: 4 });
  assert.deepEqual(canonicalAddr('::ffff:198.18.0.2'), { ip: '198.18.0.2', family: 4 });
  assert.deepEqual(canonicalAddr('::ffff:c612:2'), { ip: '198.18.0.2', family: 4 });
  assert.deepEqual(canonicalAddr('2001:0002:0000::0002'), { ip: '2001:2::2', family: 6 });
  assert.deepEqual(canonicalAddr('[2001:2::2]'), { ip: '2001:2::2', family: 6 });
  for (const bad of [
    '',
    '1.2.3',
    '01.2.3.4',
    '1.2.3.4; flush ruleset',
    '1.2.3.4/24',
    'fe80::1%eth0',
    'x'.repeat(100),
  ])
    assert.equal(canonicalAddr(bad), undefined, bad);
});

test('parseAllow takes addresses and CIDRs, rejects garbage with TW_ERR_CONFIG', () => {
  const list = parseAllow(['198.18.5.0/24', '2001:db8::/32', '192.0.2.7', ' ']);
  assert.ok(list.check('198.18.5.200', 'ipv4'));
  assert.ok(!list.check('198.18.6.1', 'ipv4'));
  assert.ok(list.check('2001:db8:1::5', 'ipv6'));
  assert.ok(list.check('192.0.2.7', 'ipv4'));
  for (const bad of ['10.0.0.0/33', 'nope', '10.0.0.0/8/1', '::/129', '10.0.0.0/x'])
    assert.throws(() => parseAllow([bad]), { code: 'TW_ERR_CONFIG' }, bad);
});

test('gatewaysFromProc reads IPv4 and IPv6 gateways', () => {
  const route =
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    'eth0\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
    'eth0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
  const route6 =
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010002000000000000000000000fe1 00000400 00000001 00000000 00000003 eth0\n' +
    '20010002000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n';
  assert.deepEqual(gatewaysFromProc(route, route6).sort(), ['198.18.0.1', '2001:2::fe1'].sort());
});

test('parseProcTcp decodes /proc/net/tcp and tcp6 lines', () => {
  const tcp =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
    '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n' +
    '   1: 010012C6:0016 020012C6:D431 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1\n';
  const e = parseProcTcp(tcp, 4);
  assert.deepEqual(e[0], { local: '0.0.0.0', lport: 22, remote: '0.0.0.0', rport: 0, state: 10, inode: 111 });
  assert.deepEqual(e[1], {
    local: '198.18.0.1',
    lport: 22,
    remote: '198.18.0.2',
    rport: 0xd431,
    state: 1,
    inode: 222,
  });
  const tcp6 =
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
    '   0: 02000120000000000000000001000000:0016 02000120000000000000000002000000:C350 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1\n' +
    '   1: 0000000000000000FFFF0000010012C6:0050 0000000000000000FFFF0000020012C6:C351 01 00000000:00000000 00:00000000 00000000     0        0 444 1 0 20 4 30 10 -1\n';
  const e6 = parseProcTcp(tcp6, 6);
  assert.equal(e6[0]!.local, '2001:2::1');
  assert.equal(e6[0]!.remote, '2001:2::2');
  assert.equal(e6[1]!.remote, '198.18.0.2');
});

test('an established connection to a foreign service protects its peer; tidewatch sessions do not', () => {
  const table: TcpEntry[] = [
    { local: '0.0.0.0', lport: 2222, remote: '0.0.0.0', rport: 0, state: 10, inode: 1 }, // foreign (sshd)
    { local: '0.0.0.0', lport: 80, remote: '0.0.0.0', rport: 0, state: 10, inode: 2 }, // ours
    { local: '198.18.0.1', lport: 2222, remote: '198.18.0.7', rport: 5000, state: 1, inode: 3 }, // foreign conn
    { local: '198.18.0.1', lport: 80, remote: '198.18.0.8', rport: 5001, state: 1, inode: 4 }, // our session
    { local: '198.18.0.1', lport: 22, remote: '198.18.0.9', rport: 5002, state: 1, inode: 5 }, // ssh port
    { local: '198.18.0.1', lport: 2222, remote: '198.18.0.10', rport: 5003, state: 6, inode: 0 }, // TIME_WAIT
  ];
  const own = () => new Set([2, 4]);
  assert.equal(hasForeignConnection('198.18.0.7', table, own, 22), true);
  assert.equal(hasForeignConnection('198.18.0.8', table, own, 22), false);
  assert.equal(hasForeignConnection('198.18.0.9', table, own, 22), true);
  assert.equal(hasForeignConnection('198.18.0.10', table, own, 22), false);
  assert.equal(hasForeignConnection('198.18.0.11', table, own, 22), false);
});

test('Safety refuses loopback, allow, own addresses, gateways and SSH peers', () => {
  const s = new Safety({
    allow: parseAllow(['198.18.9.0/24']),
    sshPort: 22,
    ownAddresses: () => ['198.18.0.1', '2001:2::1'],
    gateways: () => ['198.18.0.254'],
    tcpTable: () => [{ local: '198.18.0.1', lport: 22, remote: '198.18.0.33', rport: 1, state: 1, inode: 9 }],
    ownInodes: () => new Set(),
  });
  const v4 = (ip: string) => s.check({ ip, family: 4 });
  assert.match(v4('127.0.0.1')!, /loopback/);
  assert.match(s.check({ ip: '::1', family: 6 })!, /loopback/);
  assert.match(v4('198.18.9.77')!, /allow/);
  assert.match(v4('198.18.0.1')!, /own address/);
  assert.match(s.check({ ip: '2001:2::1', family: 6 })!, /own address/);
  assert.match(v4('198.18.0.254')!, /gateway/);
  assert.match(v4('198.18.0.33')!, /established connection/);
  assert.match(v4('224.0.0.1')!, /non-unicast/);
  assert.equal(v4('198.18.0.2'), undefined);
  assert.equal(s.check({ ip: '2001:2::2', family: 6 }), undefined);
});

test('Safety reads the real host: its own addresses and loopback are refused', () => {
  const s = new Safety({ allow: new BlockList(), sshPort: 22 });
  assert.ok(s.check({ ip: '127.0.0.1', family: 4 }));
  assert.equal(s.check({ ip: '198.51.100.77', family: 4 }), undefined);
});
