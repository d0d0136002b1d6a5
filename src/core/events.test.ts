import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countedVia } from './events.js';

test('probes are counted from one origin: capture when it runs, else the listener', () => {
  assert.equal(countedVia({ capture: 'eth0' }), 'capture');
  assert.equal(countedVia({ capture: '' }), 'listener');
});
