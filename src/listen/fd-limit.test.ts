import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fdsInUse, parseLimits, readFdLimit } from './fd-limit.js';
import { httpPort } from '../config/units.js';

test('parses the open-files line of /proc/<pid>/limits', () => {
  const text =
    'Limit                     Soft Limit           Hard Limit           Units     \n' +
    'Max open files            1024                 524288               files     \n';
  assert.deepEqual(parseLimits(text), { soft: 1024, hard: 524288 });
  assert.deepEqual(parseLimits('Max open files  unlimited unlimited files'), {
    soft: Infinity,
    hard: Infinity,
  });
  assert.equal(parseLimits('nothing here'), undefined);
});

test('reads this process: soft <= hard, and some descriptors in use', () => {
  const l = readFdLimit();
  assert.ok(l.soft > 0 && l.soft <= l.hard);
  assert.ok(fdsInUse() >= 3);
});

test('the --http port is kept out of the TCP set', () => {
  assert.equal(httpPort('127.0.0.1:8339'), 8339);
  assert.equal(httpPort('[::1]:9000'), 9000);
  assert.equal(httpPort('off'), undefined);
  assert.equal(httpPort('host:notaport'), undefined);
});
