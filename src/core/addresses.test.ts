// The address module against independent references: Node's own parser and libuv's inet_ntop
// (net.SocketAddress) for text, and net.BlockList loaded with the RFC ranges for classification.
import assert from 'node:assert/strict';
import { BlockList, SocketAddress } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { AddressSet } from '../capture/addresses.js';
import {
  formatAddress,
  formatV6,
  hostAddresses,
  ipv4ToUint,
  isPrivateAddress,
  isPrivateV4,
  isPrivateV6,
  isReservedAddress,
  isReservedV4,
  isReservedV6,
  localAddresses,
  parseAddress,
  plainAddress,
  uintToIpv4,
  v4At,
} from './addresses.js';

/** 16 bytes with the shapes that matter: zero runs, IPv4-mapped, link-local, ULA, multicast, documentation. */
const v6Bytes = fc
  .tuple(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 7 }),
    fc.constantFrom<number[] | null>(
      null,
      [],
      [0xfe, 0x80],
      [0xfd],
      [0xff],
      [0x20, 1, 0xd, 0xb8],
      [0x20, 1, 0, 2, 0, 0],
    ),
    fc.boolean(),
  )
  .map(([raw, zeros, prefix, mapped]) => {
    const b = Buffer.from(raw);
    for (const z of zeros) b.writeUInt16BE(0, z * 2); // zero runs exercise compression
    if (prefix) b.set(prefix, 0);
    if (mapped) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 0);
    return b;
  });
const v4Text = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const libuv = (text: string): string => new SocketAddress({ address: text, family: 'ipv6' }).address;
/** Uncompressed text, for the reference to parse: nothing of formatV6 is reused. */
const fullText = (b: Uint8Array): string =>
  Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
/** libuv (as BIND) writes ::a.b.c.d for the deprecated IPv4-compatible form; RFC 5952 does not. */
const ipv4Compatible = (b: Uint8Array): boolean =>
  b.subarray(0, 12).every((x) => x === 0) && (b[12]! | b[13]!) !== 0;

test('IPv6 bytes to text: RFC 5952, as libuv writes it, ::ffff:a.b.c.d for IPv4-mapped', () => {
  fc.assert(
    fc.property(v6Bytes, (b) => {
      if (!ipv4Compatible(b)) assert.equal(formatV6(b, 0), libuv(fullText(b)));
    }),
    { numRuns: 2000 },
  );
  for (const [input, want] of [
    ['2001:2::1', '2001:2::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'], // the first of equal runs wins
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:102:304', '::ffff:1.2.3.4'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['FE80::AB%eth0', 'fe80::ab'],
  ])
    assert.equal(formatV6(parseAddress(input!)!, 0), want, input);
  // At an offset inside a larger buffer (packet bytes), as capture and the addon records call it.
  const buf = Buffer.alloc(40, 0xee);
  buf.set(parseAddress('2001:2::2')!, 20);
  assert.equal(formatAddress(6, buf, 20), '2001:2::2');
  buf.set([198, 18, 1, 5], 3);
  assert.equal(formatAddress(4, buf, 3), '198.18.1.5');
});

test('text to bytes: every form Node accepts, round trip through libuv; junk is null', () => {
  fc.assert(
    fc.property(v6Bytes, (b) => {
      const text = fullText(b);
      assert.deepEqual(parseAddress(text), Uint8Array.from(b));
      const short = libuv(text);
      assert.deepEqual(parseAddress(short), Uint8Array.from(b), short);
      assert.deepEqual(parseAddress(short.toUpperCase()), Uint8Array.from(b));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(v4Text, (t) => {
      const b = parseAddress(t)!;
      assert.equal(b.join('.'), t);
      assert.equal(v4At(b, 0), ipv4ToUint(t));
      assert.equal(uintToIpv4(ipv4ToUint(t)), t);
      assert.equal(
        ipv4ToUint(t),
        t.split('.').reduce((n, p) => n * 256 + Number(p), 0),
      );
    }),
  );
  assert.deepEqual(parseAddress(' 1.2.3.4 '), Uint8Array.from([1, 2, 3, 4]));
  assert.deepEqual(
    parseAddress('::1.2.3.4'),
    Uint8Array.from([...new Array<number>(12).fill(0), 1, 2, 3, 4]),
  );
  for (const bad of ['', 'not an address', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1::2::3', 'g::1', '[::1]'])
    assert.equal(parseAddress(bad), null, bad);
  assert.equal(ipv4ToUint('255.255.255.255'), 0xffffffff);
  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '::1',
    '1..2.3',
    'a.b.c.d',
    '',
    '1.2.3.4 ',
    '1111.2.3.4',
  ])
    assert.equal(ipv4ToUint(bad), -1, bad);
});

test('plainAddress unmaps IPv4-mapped text only', () => {
  assert.equal(plainAddress('::ffff:198.18.0.2'), '198.18.0.2');
  assert.equal(plainAddress('198.18.0.2'), '198.18.0.2');
  assert.equal(plainAddress('2001:2::2'), '2001:2::2');
  assert.equal(plainAddress('::ffff:2001:2'), '::ffff:2001:2');
  assert.equal(plainAddress(undefined), '');
  assert.equal(plainAddress(formatV6(parseAddress('::ffff:c612:2')!, 0)), '198.18.0.2');
});

// The ranges written out as the RFCs give them, loaded into Node's BlockList as the reference.
const PRIVATE_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
];
const RESERVED_V4 = [
  '192.0.0.0/24',
  '192.0.2.0/24',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/3',
];
const PRIVATE_V6 = ['::/127', 'fc00::/7', 'fe80::/10'];
const RESERVED_V6 = ['::/64', 'ff00::/8', '2001:db8::/32', '2001:2::/48'];
// One list per family: a BlockList also applies its IPv6 rules to IPv4 addresses (::/64 matches 9.9.9.9).
function blockList(ranges: string[], family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const r of ranges) list.addSubnet(r.split('/')[0]!, Number(r.split('/')[1]), family);
  return list;
}
const privateRef4 = blockList(PRIVATE_V4, 'ipv4');
const reservedRef4 = blockList([...PRIVATE_V4, ...RESERVED_V4], 'ipv4');
const privateRef6 = blockList(PRIVATE_V6, 'ipv6');
const reservedRef6 = blockList([...PRIVATE_V6, ...RESERVED_V6], 'ipv6');
const v4Edges = fc.constantFrom(
  ...[...PRIVATE_V4, ...RESERVED_V4].flatMap((r) => {
    const [net, bits] = r.split('/');
    const n = ipv4ToUint(net!);
    const size = 2 ** (32 - Number(bits));
    return [n - 1, n, n + size - 1, n + size].filter((x) => x >= 0 && x <= 0xffffffff).map(uintToIpv4);
  }),
);

test('private and reserved ranges, IPv4 (edges of every range and random addresses)', () => {
  fc.assert(
    fc.property(fc.oneof(v4Text, v4Edges), (t) => {
      const n = ipv4ToUint(t);
      assert.equal(isPrivateV4(n), privateRef4.check(t, 'ipv4'), t);
      assert.equal(isReservedV4(n), reservedRef4.check(t, 'ipv4'), t);
      assert.equal(isPrivateAddress(t), isPrivateV4(n));
      assert.equal(isReservedAddress(t), isReservedV4(n));
      // IPv4-mapped IPv6 is classified by its IPv4 part.
      assert.equal(isPrivateAddress(`::ffff:${t}`), isPrivateV4(n), t);
      assert.equal(isReservedAddress(`::ffff:${t}`), isReservedV4(n), t);
    }),
    { numRuns: 3000 },
  );
  // Tsusen's and raw_sock_port_mon's bugs: a substring and a wrong mask.
  assert.ok(!isPrivateAddress('27.0.0.1'));
  assert.ok(isPrivateAddress('172.31.0.1'));
  assert.ok(!isPrivateAddress('172.32.0.1'));
  assert.ok(!isReservedAddress('198.20.0.1'));
});

test('private and reserved ranges, IPv6', () => {
  fc.assert(
    fc.property(v6Bytes, (b) => {
      const text = fullText(b);
      const mapped = b.subarray(0, 12).every((x, i) => x === (i < 10 ? 0 : 0xff));
      if (mapped) {
        assert.equal(isPrivateV6(b, 0), isPrivateV4(v4At(b, 12)));
        assert.equal(isReservedV6(b, 0), isReservedV4(v4At(b, 12)));
        return;
      }
      assert.equal(isPrivateV6(b, 0), privateRef6.check(text, 'ipv6'), text);
      assert.equal(isReservedV6(b, 0), reservedRef6.check(text, 'ipv6'), text);
      assert.equal(isPrivateAddress(text), isPrivateV6(b, 0));
    }),
    { numRuns: 3000 },
  );
  assert.ok(isPrivateAddress('fd12::1'));
  assert.ok(!isPrivateAddress('2001:2::2'));
  assert.ok(isReservedAddress('2001:2::2'));
  assert.ok(!isPrivateAddress('not an address'));
  assert.ok(!isReservedAddress('not an address'));
});

test('an address set matches exact packet bytes at any offset', () => {
  const set = new AddressSet(['127.0.0.1', 'junk', '2001:2::1']);
  assert.equal(set.size, 2);
  assert.ok(!set.hasV4(parseAddress('27.0.0.1')!, 0));
  assert.ok(set.hasV4(parseAddress('127.0.0.1')!, 0));
  assert.ok(set.hasV6(parseAddress('2001:0002:0::1')!, 0));
  assert.ok(!set.hasV6(parseAddress('2001:2::2')!, 0));
  const pkt = Buffer.concat([Buffer.alloc(7), Buffer.from(parseAddress('2001:2::1')!)]);
  assert.ok(set.has(6, pkt, 7));
  set.replace(['10.0.0.1']);
  assert.ok(!set.has(6, pkt, 7));
  assert.ok(set.has(4, Uint8Array.from([0, 10, 0, 0, 1]), 1));
});

test("the host's addresses: loopback, link-local IPv6 with its zone for binding, without it for packets", () => {
  const all = localAddresses();
  assert.ok(all.includes('127.0.0.1'));
  assert.ok(localAddresses(4).every((a) => !a.includes(':')));
  assert.ok(localAddresses(6).every((a) => a.includes(':')));
  for (const a of all) if (/^fe80:/i.test(a)) assert.match(a, /%/);
  const host = hostAddresses();
  assert.ok(host.includes('127.0.0.1'));
  assert.deepEqual(host, [...new Set(host)].sort());
  for (const a of host) assert.ok(parseAddress(a) && !a.includes('%') && a === a.toLowerCase(), a);
});
