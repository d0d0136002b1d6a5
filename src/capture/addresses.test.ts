import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAddress } from '../core/ip.js';
import { AddressSet, formatV6, isPrivateAddress } from './addresses.js';

test('IPv6 text round-trips in RFC 5952 form', () => {
  for (const [input, want] of [
    ['2001:2::1', '2001:2::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])
    assert.equal(formatV6(parseAddress(input!)!, 0), want);
});

test('classification and exact matching', () => {
  assert.ok(isPrivateAddress('172.31.0.1'));
  assert.ok(!isPrivateAddress('172.32.0.1'));
  assert.ok(isPrivateAddress('fd12::1'));
  assert.ok(!isPrivateAddress('2001:2::2'));
  assert.ok(!isPrivateAddress('not an address'));
  const set = new AddressSet(['127.0.0.1', 'junk', '2001:2::1']);
  assert.equal(set.size, 2);
  assert.ok(!set.hasV4(parseAddress('27.0.0.1')!, 0));
  assert.ok(set.hasV4(parseAddress('127.0.0.1')!, 0));
  assert.ok(set.hasV6(parseAddress('2001:0002:0::1')!, 0));
});
