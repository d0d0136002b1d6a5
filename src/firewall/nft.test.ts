import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addScript, setupScript, teardownScript } from './nft.js';

test('setup replaces a leftover table in one transaction and bounds the sets', () => {
  const s = setupScript(1234);
  const lines = s.split('\n');
  assert.equal(lines[0], 'table inet tidewatch_block');
  assert.equal(lines[1], 'delete table inet tidewatch_block');
  assert.match(s, /set blocked4 \{ type ipv4_addr; flags timeout; size 1234; \}/);
  assert.match(s, /set blocked6 \{ type ipv6_addr; flags timeout; size 1234; \}/);
  assert.match(s, /priority raw - 10; policy accept;/);
  assert.equal(teardownScript(), 'table inet tidewatch_block\ndelete table inet tidewatch_block\n');
});

test('addScript batches both families and lets nothing but address characters through', () => {
  const s = addScript([
    { ip: '198.51.100.7', family: 4, timeoutMs: 3000 },
    { ip: '2001:db8::7', family: 6, timeoutMs: 3_600_000 },
    { ip: '1.2.3.4 }; flush ruleset; add element inet x y { 5.6.7.8', family: 4, timeoutMs: 1000 },
    { ip: '203.0.113.9', family: 4, timeoutMs: 10 },
  ]);
  assert.equal(
    s,
    'add element inet tidewatch_block blocked4 { 198.51.100.7 timeout 3000ms, 203.0.113.9 timeout 1000ms }\n' +
      'add element inet tidewatch_block blocked6 { 2001:db8::7 timeout 3600000ms }\n',
  );
  assert.equal(addScript([]), '');
});
