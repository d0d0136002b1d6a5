// Crafted frames for every decoder layer, each cut at every byte offset, and the old tools' bugs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arp,
  batch,
  ether,
  icmp,
  type Ipv4Opts,
  ipv4,
  ipv6,
  LINUX_SYN_OPTIONS,
  sll,
  sll2,
  tcp,
  type TcpOpts,
  udp,
  type BatchFrame,
} from '../../../test/helpers/pcap-frames.js';
import { PacketCounters, type CounterSnapshot } from '../counters.js';
import { LINKTYPE } from './index.js';

const S4 = '198.18.0.2';
const D4 = '198.18.0.1';
const S6 = '2001:2::2';
const D6 = '2001:2::1';

function count(frames: (Buffer | BatchFrame)[], linktype: number = LINKTYPE.ETHERNET): CounterSnapshot {
  const c = new PacketCounters({ excludePrivate: false, onlyDst: [] });
  c.addBatch(batch(frames), frames.length, linktype);
  return c.snapshot();
}

const syn4 = (dport = 80, flags = 0x02): Buffer =>
  ipv4({
    src: S4,
    dst: D4,
    proto: 6,
    payload: tcp({ sport: 40000, dport, flags, options: LINUX_SYN_OPTIONS }),
  });
const udp4 = (dport = 53, payload = Buffer.alloc(92)): Buffer =>
  ipv4({ src: S4, dst: D4, proto: 17, payload: udp({ sport: 5353, dport, payload }) });

test('Ethernet IPv4 TCP SYN: every counter', () => {
  const s = count([ether(0x0800, syn4(443))]);
  assert.deepEqual(s, {
    packets: 1,
    malformed: 0,
    ignored: 0,
    tcp: { all: { '443': 1 }, syn: { '443': 1 } },
    udp: {},
    ip_protocols: { '6': 1 },
    ethertypes: { '0x0800': 1 },
  });
});

test('regression: UDP length is read in network byte order (100-byte datagram counts)', () => {
  const s = count([ether(0x0800, udp4(53)), ether(0x0800, udp4(1900, Buffer.alloc(0)))]);
  assert.equal(s.malformed, 0);
  assert.deepEqual(s.udp, { '53': 1, '1900': 1 });
});

test('regression: ethertypes are not byte-swapped (ARP 0x0806, IPv6 0x86dd)', () => {
  const v6 = ipv6({ src: S6, dst: D6, nextHeader: 58, payload: icmp({ type: 128 }) });
  const s = count([ether(0x0806, arp()), ether(0x86dd, v6), ether(0x88cc, Buffer.alloc(30))]);
  assert.deepEqual(s.ethertypes, { '0x0806': 1, '0x86dd': 1, '0x88cc': 1 });
  assert.deepEqual(s.ip_protocols, { '58': 1 });
});

test('regression: SYN+ECE+CWR (ECN SYN) is a connection attempt; SYN+ACK is not', () => {
  const s = count([
    ether(0x0800, syn4(22, 0xc2)),
    ether(0x0800, syn4(22, 0x12)),
    ether(0x0800, syn4(22, 0x10)),
  ]);
  assert.deepEqual(s.tcp, { all: { '22': 3 }, syn: { '22': 1 } });
});

test('802.1Q and QinQ: the ethertype after the tags', () => {
  const s = count([
    ether(0x0800, syn4(80), [0x8100]),
    ether(0x0800, syn4(80), [0x88a8, 0x8100]),
    ether(0x0806, arp(), [0x9100, 0x8100]),
  ]);
  assert.deepEqual(s.ethertypes, { '0x0800': 2, '0x0806': 1 });
  assert.deepEqual(s.tcp.syn, { '80': 2 });
});

test('802.3 length-framed LLC counts as 0x0004, as Linux cooked capture reports it', () => {
  const s = count([ether(46, Buffer.alloc(46))]);
  assert.deepEqual(s.ethertypes, { '0x0004': 1 });
});

test('Linux cooked v1/v2 and raw IP link types', () => {
  assert.deepEqual(count([sll(0x0800, syn4(8080))], LINKTYPE.LINUX_SLL).tcp.syn, { '8080': 1 });
  assert.deepEqual(count([sll2(0x0800, udp4(123))], LINKTYPE.LINUX_SLL2).udp, { '123': 1 });
  for (const lt of [LINKTYPE.RAW, LINKTYPE.RAW_BSD, LINKTYPE.RAW_OPENBSD, LINKTYPE.IPV4]) {
    const s = count([syn4(25)], lt);
    assert.deepEqual(s.ethertypes, { '0x0800': 1 }, `linktype ${lt}`);
    assert.deepEqual(s.tcp.syn, { '25': 1 });
  }
  const v6 = ipv6({ src: S6, dst: D6, nextHeader: 17, payload: udp({ sport: 1, dport: 161 }) });
  assert.deepEqual(count([v6], LINKTYPE.RAW).udp, { '161': 1 });
  assert.deepEqual(count([v6], LINKTYPE.IPV6).ethertypes, { '0x86dd': 1 });
  const nullHdr = Buffer.from([2, 0, 0, 0]);
  assert.deepEqual(count([Buffer.concat([nullHdr, syn4(21)])], LINKTYPE.NULL).tcp.syn, { '21': 1 });
  assert.equal(count([Buffer.from([0x50, 0, 0, 0])], LINKTYPE.RAW).malformed, 1);
  assert.equal(count([syn4(25)], 9999).malformed, 1, 'unknown link type');
});

test('regression: outgoing packets in Linux cooked capture are never counted', () => {
  const s1 = count([sll(0x0800, syn4(80), 4), sll(0x0800, syn4(81), 0)], LINKTYPE.LINUX_SLL);
  assert.deepEqual([s1.ignored, s1.tcp.syn], [1, { '81': 1 }]);
  const s2 = count([sll2(0x0800, udp4(53), 4), sll2(0x0800, udp4(54), 0)], LINKTYPE.LINUX_SLL2);
  assert.deepEqual([s2.ignored, s2.udp], [1, { '54': 1 }]);
});

test('IPv4 options are skipped; the transport header follows them', () => {
  const opts = Buffer.from([0x94, 0x04, 0, 0, 1, 1, 1, 0]); // router alert, NOP, NOP, NOP, EOL
  const p = ipv4({
    src: S4,
    dst: D4,
    proto: 6,
    options: opts,
    payload: tcp({ sport: 1, dport: 3389, flags: 2 }),
  });
  assert.deepEqual(count([ether(0x0800, p)]).tcp.syn, { '3389': 1 });
});

test('IPv4 fragments: only the first carries ports; later ones count by protocol', () => {
  const first = ipv4({
    src: S4,
    dst: D4,
    proto: 17,
    mf: true,
    payload: udp({ sport: 1, dport: 500, length: 3000 }),
  });
  const later = ipv4({ src: S4, dst: D4, proto: 17, fragOffset: 185, payload: Buffer.alloc(100, 0xff) });
  const s = count([ether(0x0800, first), ether(0x0800, later)]);
  assert.deepEqual(s.udp, { '500': 1 });
  assert.deepEqual(s.ip_protocols, { '17': 2 });
  assert.equal(s.malformed, 0);
});

test('IPv6 extension headers and fragments', () => {
  const mk = (ext: Parameters<typeof ipv6>[0]['ext'], nh: number, payload: Buffer): Buffer =>
    ether(0x86dd, ipv6({ src: S6, dst: D6, nextHeader: nh, ext, payload }));
  const syn = tcp({ sport: 2, dport: 22, flags: 2 });
  const s = count([
    mk([{ type: 0 }, { type: 60 }], 6, syn),
    mk([{ type: 43 }, { type: 51 }], 6, syn),
    mk([{ type: 44, mf: true }], 17, udp({ sport: 3, dport: 4500, length: 4000 })),
    mk([{ type: 44, fragOffset: 100 }], 17, Buffer.alloc(64)),
    mk([{ type: 60 }], 58, icmp({ type: 128 })),
    mk([], 59, Buffer.alloc(0)),
    mk([], 50, Buffer.alloc(40)),
  ]);
  assert.deepEqual(s.tcp.syn, { '22': 2 });
  assert.deepEqual(s.udp, { '4500': 1 });
  assert.deepEqual(s.ip_protocols, { '6': 2, '17': 2, '58': 1, '59': 1, '50': 1 });
  assert.equal(s.malformed, 0);
});

test('other IP protocols count by number; ICMP and ICMPv6', () => {
  const s = count([
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 47, payload: Buffer.alloc(4) })),
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 132, payload: Buffer.alloc(12) })),
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 1, payload: icmp({ type: 8 }) })),
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 253, payload: Buffer.alloc(0) })),
  ]);
  assert.deepEqual(s.ip_protocols, { '1': 1, '47': 1, '132': 1, '253': 1 });
});

/** A SYN from port 1 to port 2 over IPv4 in Ethernet, with the given IPv4 and TCP header fields set. */
const lyingSyn4 = (ip: Partial<Ipv4Opts>, tcpFields: Partial<TcpOpts> = {}): Buffer =>
  ether(
    0x0800,
    ipv4({ src: S4, dst: D4, proto: 6, payload: tcp({ sport: 1, dport: 2, flags: 2, ...tcpFields }), ...ip }),
  );

test('lying lengths are malformed and counted in nothing else', () => {
  const bad = [
    lyingSyn4({ ihlWords: 4 }),
    lyingSyn4({ totalLength: 200 }),
    lyingSyn4({ totalLength: 10 }),
    lyingSyn4({ version: 5 }),
    lyingSyn4({}, { dataOffsetWords: 4 }),
    lyingSyn4({}, { dataOffsetWords: 15 }),
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 17, payload: udp({ sport: 1, dport: 2, length: 7 }) })),
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 17, payload: udp({ sport: 1, dport: 2, length: 9 }) })),
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 1, payload: Buffer.alloc(3) })),
    ether(
      0x86dd,
      ipv6({ src: S6, dst: D6, nextHeader: 17, payload: udp({ sport: 1, dport: 2 }), payloadLength: 100 }),
    ),
    ether(
      0x86dd,
      ipv6({ src: S6, dst: D6, nextHeader: 17, payload: udp({ sport: 1, dport: 2 }), version: 4 }),
    ),
    ether(0x8100, Buffer.alloc(2), []),
    Buffer.alloc(13),
  ];
  const s = count(bad);
  assert.deepEqual(s, {
    packets: bad.length,
    malformed: bad.length,
    ignored: 0,
    tcp: { all: {}, syn: {} },
    udp: {},
    ip_protocols: {},
    ethertypes: {},
  });
});

test('a record with caplen > origLen is malformed', () => {
  const f = ether(0x0800, syn4());
  assert.equal(count([{ frame: f, origLen: f.length - 1 }]).malformed, 1);
});

const layers: [string, Buffer, number][] = [
  ['eth/ipv4/tcp', ether(0x0800, syn4()), LINKTYPE.ETHERNET],
  ['eth/vlan/ipv4/udp', ether(0x0800, udp4(), [0x8100]), LINKTYPE.ETHERNET],
  [
    'eth/qinq/ipv4/icmp',
    ether(0x0800, ipv4({ src: S4, dst: D4, proto: 1, payload: icmp({ type: 8 }) }), [0x88a8, 0x8100]),
    LINKTYPE.ETHERNET,
  ],
  [
    'sll/ipv6+ext/tcp',
    sll(
      0x86dd,
      ipv6({
        src: S6,
        dst: D6,
        nextHeader: 6,
        ext: [{ type: 0 }],
        payload: tcp({ sport: 1, dport: 2, flags: 2 }),
      }),
    ),
    LINKTYPE.LINUX_SLL,
  ],
  [
    'sll2/ipv6/icmpv6',
    sll2(0x86dd, ipv6({ src: S6, dst: D6, nextHeader: 58, payload: icmp({ type: 128 }) })),
    LINKTYPE.LINUX_SLL2,
  ],
  [
    'raw/ipv4-options/udp',
    ipv4({
      src: S4,
      dst: D4,
      proto: 17,
      options: Buffer.from([1, 1, 1, 0]),
      payload: udp({ sport: 1, dport: 9 }),
    }),
    LINKTYPE.RAW,
  ],
];

test('every layer cut at every byte offset (frame ends there): malformed, nothing else, no throw', () => {
  for (const [name, frame, lt] of layers) {
    for (let k = 0; k < frame.length; k++) {
      const s = count([{ frame: frame.subarray(0, k) }], lt);
      assert.equal(s.malformed, 1, `${name} cut at ${k}`);
      assert.deepEqual(s.ethertypes, {}, `${name} cut at ${k}`);
    }
    assert.equal(count([frame], lt).malformed, 0, name);
  }
});

test('snap-length cut: malformed before the headers end, counted after', () => {
  for (const [name, frame, lt] of layers) {
    let counted = -1;
    for (let k = 0; k <= frame.length; k++) {
      const s = count([{ frame: frame.subarray(0, k), origLen: frame.length }], lt);
      if (s.malformed === 0 && counted < 0) counted = k;
      if (counted >= 0) assert.equal(s.malformed, 0, `${name}: cut at ${k} after ${counted} counted`);
    }
    assert.ok(counted > 0, name);
  }
});

test('records split across one batch: each at its 8-byte aligned offset', () => {
  const frames = [ether(0x0800, syn4(1)), ether(0x0806, arp()), ether(0x0800, udp4(2)), Buffer.alloc(5)];
  const s = count(frames);
  assert.deepEqual([s.packets, s.malformed, s.tcp.syn, s.udp], [4, 1, { '1': 1 }, { '2': 1 }]);
  // A batch shorter than its count: the missing records are malformed, nothing is read past the end.
  const c = new PacketCounters({ excludePrivate: false, onlyDst: [] });
  const b = batch(frames);
  c.addBatch(b.subarray(0, b.length - 10), 4, 1);
  c.addBatch(b, 9, 1);
  const t = c.snapshot();
  assert.deepEqual([t.packets, t.malformed], [13, 7]);
});
