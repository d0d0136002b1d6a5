import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lru } from './lru.js';

test('evicts the least recently used, get refreshes, peek does not', () => {
  const evicted: string[] = [];
  const l = new Lru<number, string>(3, (k) => evicted.push(k));
  l.set('a', 1);
  l.set('b', 2);
  l.set('c', 3);
  assert.equal(l.get('a'), 1); // a is now the most recent
  assert.equal(l.peek('b'), 2); // b stays the least recent
  l.set('d', 4);
  assert.deepEqual(evicted, ['b']);
  l.set('e', 5);
  assert.deepEqual(evicted, ['b', 'c']);
  assert.equal(l.size, 3);
  assert.deepEqual(
    ['a', 'b', 'c', 'd', 'e'].map((k) => l.peek(k)),
    [1, undefined, undefined, 4, 5],
  );
});

test('delete frees a slot that is reused; updating a key keeps one entry', () => {
  const l = new Lru<string>(2);
  l.set('x', '1');
  l.set('x', '2');
  assert.equal(l.size, 1);
  assert.equal(l.delete('x'), true);
  assert.equal(l.delete('x'), false);
  l.set('y', 'y');
  l.set('z', 'z');
  assert.equal(l.size, 2);
  assert.equal(l.peek('y'), 'y');
});

test('grows past its first block and stays bounded under churn', () => {
  const max = 5000;
  const l = new Lru<number>(max);
  for (let i = 0; i < 50_000; i++) {
    l.set(`k${i}`, i);
    if (i % 7 === 0) l.get(`k${i - 3000}`);
    if (i % 11 === 0) l.delete(`k${i - 10}`);
  }
  assert.ok(l.size <= max);
  assert.equal(l.peek('k49999'), 49999);
  assert.equal(l.peek('k0'), undefined);
});
