import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseRequests } from './http.js';
import { maskText, signatureOf } from './signature.js';

const http = (s: string): ReturnType<typeof parseRequests> => parseRequests(Buffer.from(s, 'latin1'));

test('HTTP template: method, masked path, sorted parameter names', () => {
  const a = http('GET /cgi-bin/luci/;stok=7a0f9e2b1c3d/locale?operation=write&form=country HTTP/1.1\r\n\r\n');
  const b = http('GET /cgi-bin/luci/;stok=ffee00112233/locale?form=x&operation=y HTTP/1.1\r\n\r\n');
  const sa = signatureOf('http', Buffer.from('a'), a).template;
  assert.equal(sa, 'http GET /cgi-bin/luci/;stok=<hex>/locale ?form&operation');
  assert.equal(signatureOf('http', Buffer.from('b'), b).template, sa);
});

test('digits, hex, UUIDs and base64 runs are masked; words are kept', () => {
  assert.equal(maskText('/user/12345/avatar.png'), '/user/<n>/avatar.png');
  assert.equal(maskText('/o/123e4567-e89b-12d3-a456-426614174000/x'), '/o/<uuid>/x');
  assert.equal(maskText('/t/d2dldCBodHRwOi8vZXhhbXBsZQ'), '/t/<b64>');
  assert.equal(maskText('/index.php'), '/index.php');
});

test('other protocols: app plus a masked prefix; sha256 of the exact bytes', () => {
  const s = signatureOf('unknown', Buffer.from([0xff, 0xfb, 0x01, 0x41, 0x42]), []);
  assert.equal(s.template, 'unknown \\xff\\xfb\\x01AB');
  assert.equal(s.sha256.length, 64);
  assert.notEqual(
    signatureOf('unknown', Buffer.from('x1'), []).sha256,
    signatureOf('unknown', Buffer.from('x2'), []).sha256,
  );
  assert.equal(
    signatureOf('unknown', Buffer.from('id=1'), []).template,
    signatureOf('unknown', Buffer.from('id=2'), []).template,
  );
});
