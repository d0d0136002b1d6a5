import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandshakeBudget } from './handshake-budget.js';

test('handshake budget: per source and in total, per one-second window', () => {
  const b = new HandshakeBudget(5, 2);
  const t = 10_000;
  assert.ok(b.admit('a', t));
  assert.ok(b.admit('a', t + 10));
  assert.ok(!b.admit('a', t + 20), 'third from one source in the same second');
  assert.ok(b.admit('b', t + 30));
  assert.ok(b.admit('c', t + 40));
  assert.ok(b.admit('d', t + 50));
  assert.ok(!b.admit('e', t + 60), 'total budget spent: a new source is refused too');
  assert.ok(b.admit('a', t + 1000), 'the next second starts afresh');
  assert.ok(b.admit('e', t + 1001));
});
