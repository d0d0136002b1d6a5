// Counters and probe events: filters (own addresses, --exclude-private, --only-dst), probe kinds and the
// fingerprint fields, intervals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batch, ether, ipv4, ipv6, LINUX_SYN_OPTIONS, tcp, udp } from '../../test/helpers/pcap-frames.js';
import type { ProbeEvent } from '../core/events.js';
import { PacketCounters } from './counters.js';

const synFrom = (src: string, dst = '198.18.0.1', dport = 80, flags = 2): Buffer =>
  ether(0x0800, ipv4({ src, dst, proto: 6, payload: tcp({ sport: 1234, dport, flags }) }));
const syn6From = (src: string, dst = '2001:2::1', dport = 80): Buffer =>
  ether(0x86dd, ipv6({ src, dst, nextHeader: 6, payload: tcp({ sport: 1234, dport, flags: 2 }) }));

function run(
  frames: Buffer[],
  opts: Partial<ConstructorParameters<typeof PacketCounters>[0]> = {},
  own: string[] = [],
) {
  const probes: ProbeEvent[] = [];
  const c = new PacketCounters({
    excludePrivate: false,
    onlyDst: [],
    onProbe: (p) => probes.push(p),
    ...opts,
  });
  c.setOwnAddresses(own);
  c.addBatch(batch(frames), frames.length, 1);
  return { s: c.snapshot(), probes };
}

test('regression: the 172.16/12 range is private with --exclude-private (all of it, and only it)', () => {
  const inside = [
    '172.16.0.1',
    '172.20.1.1',
    '172.31.255.255',
    '10.0.0.1',
    '192.168.1.1',
    '127.0.0.1',
    '169.254.1.1',
    '100.64.0.1',
  ];
  const outside = [
    '172.15.255.255',
    '172.32.0.0',
    '198.18.0.2',
    '11.0.0.1',
    '192.169.0.1',
    '100.128.0.1',
    '27.0.0.1',
  ];
  const { s } = run(
    [...inside, ...outside].map((a) => synFrom(a)),
    { excludePrivate: true },
  );
  assert.equal(s.ignored, inside.length);
  assert.deepEqual(s.tcp.syn, { '80': outside.length });
});

test('IPv6 private sources: loopback, link-local, ULA, v4-mapped private', () => {
  const inside = ['::1', 'fe80::1', 'fd00::1', 'fc12::5', '::ffff:10.1.2.3'];
  const outside = ['2001:2::2', 'fec0::1', '::ffff:198.18.0.2', '2001:db8::1'];
  const { s } = run(
    [...inside, ...outside].map((a) => syn6From(a)),
    { excludePrivate: true },
  );
  assert.deepEqual([s.ignored, s.tcp.syn['80']], [inside.length, outside.length]);
});

test('regression: the host own outgoing traffic is never counted as incoming', () => {
  const { s, probes } = run(
    [
      synFrom('198.18.0.1', '198.18.0.2', 443),
      synFrom('198.18.0.2', '198.18.0.1', 22),
      syn6From('2001:2::1', '2001:2::2'),
    ],
    {},
    ['198.18.0.1', '2001:2::1'],
  );
  assert.deepEqual([s.ignored, s.tcp.syn], [2, { '22': 1 }]);
  assert.deepEqual(
    probes.map((p) => p.src),
    ['198.18.0.2'],
  );
});

test('regression: addresses match exactly (27.0.0.1 is not 127.0.0.1) for --only-dst and own addresses', () => {
  const { s } = run(
    [
      synFrom('27.0.0.1', '198.18.0.1'),
      synFrom('198.18.0.2', '98.18.0.1'),
      synFrom('198.18.0.2', '198.18.0.10'),
    ],
    {
      onlyDst: ['198.18.0.1'],
    },
    ['127.0.0.1'],
  );
  assert.deepEqual([s.ignored, s.tcp.syn], [2, { '80': 1 }]);
  const v6 = run([syn6From('2001:2::2', '2001:2::1'), syn6From('2001:2::2', '2001:2::10')], {
    onlyDst: ['2001:2:0::1'],
  });
  assert.deepEqual([v6.s.ignored, v6.s.tcp.syn], [1, { '80': 1 }]);
});

test('regression: port 83 is counted (no substring match against 8338)', () => {
  const { s } = run([synFrom('198.18.0.2', '198.18.0.1', 83), synFrom('198.18.0.2', '198.18.0.1', 8338)]);
  assert.deepEqual(s.tcp.syn, { '83': 1, '8338': 1 });
});

test('probe events carry the fingerprint fields and the packet time', () => {
  const syn = ether(
    0x0800,
    ipv4({
      src: '203.0.113.9',
      dst: '198.18.0.1',
      proto: 6,
      ttl: 51,
      id: 54321,
      payload: tcp({
        sport: 61000,
        dport: 8080,
        flags: 0xc2,
        seq: 0xdeadbeef,
        window: 1024,
        options: LINUX_SYN_OPTIONS,
      }),
    }),
  );
  const dgram = ether(
    0x86dd,
    ipv6({
      src: '2001:2::2',
      dst: '2001:2::1',
      nextHeader: 17,
      hopLimit: 33,
      payload: udp({ sport: 5, dport: 161 }),
    }),
  );
  const probes: ProbeEvent[] = [];
  const c = new PacketCounters({ excludePrivate: false, onlyDst: [], onProbe: (p) => probes.push(p) });
  c.addBatch(
    batch([
      { frame: syn, tsSec: 1_800_000_000, tsUsec: 123_456 },
      { frame: dgram },
      synFrom('198.18.0.2', '198.18.0.1', 1, 0x10),
    ]),
    3,
    1,
  );
  assert.equal(probes.length, 2);
  assert.deepEqual(probes[0], {
    type: 'probe',
    time: 1_800_000_000_123,
    via: 'capture',
    proto: 'tcp',
    kind: 'syn',
    src: '203.0.113.9',
    dst: '198.18.0.1',
    sport: 61000,
    dport: 8080,
    ttl: 51,
    ipId: 54321,
    window: 1024,
    seq: 0xdeadbeef,
    options: [2, 4, 8, 1, 3],
    mss: 1460,
    wscale: 7,
  });
  assert.deepEqual(
    [probes[1]!.kind, probes[1]!.proto, probes[1]!.src, probes[1]!.dst, probes[1]!.ttl, probes[1]!.ipId],
    ['udp', 'udp', '2001:2::2', '2001:2::1', 33, undefined],
  );
});

test('takeInterval returns counts since the previous call; snapshot keeps totals', () => {
  const c = new PacketCounters({ excludePrivate: false, onlyDst: [] });
  const f = [synFrom('198.18.0.2')];
  c.addBatch(batch(f), 1, 1);
  assert.deepEqual(c.takeInterval().tcp.syn, { '80': 1 });
  assert.deepEqual(c.takeInterval().tcp.syn, {});
  c.addBatch(batch(f), 1, 1);
  c.addBatch(batch(f), 1, 1);
  const i = c.takeInterval();
  assert.deepEqual([i.packets, i.tcp.syn], [2, { '80': 2 }]);
  assert.deepEqual(c.snapshot().tcp.syn, { '80': 3 });
});

test('per-port counters never wrap: the Uint32 tables fold into the totals before they could', () => {
  const c = new PacketCounters({ excludePrivate: false, onlyDst: [] });
  const hot = (c as unknown as { hot: { tcpSyn: Uint32Array; sinceFold: number } }).hot;
  c.addBatch(batch([synFrom('198.18.0.2')]), 1, 1);
  hot.tcpSyn[80] = 0xffffffff; // as if 2^32 - 1 SYNs had come since the last fold (replaces the 1)
  hot.sinceFold = 0xffffffff;
  c.addBatch(batch([synFrom('198.18.0.2')]), 1, 1);
  assert.equal(c.snapshot().tcp.syn['80'], 0xffffffff + 1);
});

test('a throwing probe subscriber never aborts the batch', () => {
  const c = new PacketCounters({
    excludePrivate: false,
    onlyDst: [],
    onProbe: () => {
      throw new Error('subscriber bug');
    },
  });
  const f = synFrom('198.18.0.2');
  c.addBatch(batch([f, f, f]), 3, 1);
  assert.deepEqual([c.snapshot().tcp.syn['80'], c.probeErrors], [3, 3]);
});

test('TCP options cut by the snap length: the packet counts, the options stop where the capture does', () => {
  const f = ether(
    0x0800,
    ipv4({
      src: '198.18.0.2',
      dst: '198.18.0.1',
      proto: 6,
      payload: tcp({ sport: 1, dport: 443, flags: 2, options: LINUX_SYN_OPTIONS }),
    }),
  );
  const probes: ProbeEvent[] = [];
  const c = new PacketCounters({ excludePrivate: false, onlyDst: [], onProbe: (p) => probes.push(p) });
  c.addBatch(batch([{ frame: f.subarray(0, 14 + 20 + 20 + 6), origLen: f.length }]), 1, 1);
  assert.deepEqual(c.snapshot().tcp.syn, { '443': 1 });
  assert.deepEqual([probes[0]!.options, probes[0]!.mss, probes[0]!.wscale], [[2, 4], 1460, undefined]);
});
