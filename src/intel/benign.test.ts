import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { BenignList } from './benign.js';

test('the shipped list names research scanners', () => {
  const list = BenignList.load([]);
  assert.ok(list.size > 1000);
  // 162.142.125.0/24 is one of Censys's published scanning ranges; 66.240.205.34 a Shodan crawler.
  assert.equal(list.orgOf('162.142.125.10'), 'censys');
  assert.equal(list.orgOf('66.240.205.34'), 'shodan');
  assert.equal(list.orgOf('198.18.0.2'), undefined);
  assert.equal(list.orgOf('not an address'), undefined);
});

test('--benign-list files add ranges; IPv6 and v4-mapped addresses work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-benign-'));
  const f = join(dir, 'Lab.txt');
  writeFileSync(f, '# ours\n198.18.0.0/31 ourlab\n2001:2::/64\n');
  const list = BenignList.load([f]);
  assert.equal(list.orgOf('198.18.0.1'), 'ourlab');
  assert.equal(list.orgOf('::ffff:198.18.0.1'), 'ourlab');
  assert.equal(list.orgOf('198.18.0.2'), undefined);
  assert.equal(list.orgOf('2001:2::2'), 'lab');
});

test('a bad line is one error naming the file, the line and the form', () => {
  assert.throws(
    () => BenignList.parse('192.0.2.0/24 ok\n300.1.2.3/8 bad\n', 'x.txt', 'x'),
    (err: Error & { code?: string }) =>
      err.code === 'TW_ERR_CONFIG' && /x\.txt:2: .*CIDR org/.test(err.message),
  );
});
