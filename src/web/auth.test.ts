import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import {
  cookieValue,
  generateToken,
  isAuthorized,
  isLocalHostHeader,
  isLoopbackAddress,
  safeEqual,
  sessionCookie,
} from './auth.js';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

test('loopback addresses and Host headers', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
    assert.ok(isLoopbackAddress(a), a);
  for (const a of ['0.0.0.0', '::', '198.18.0.1', '2001:2::1', 'example.com', '128.0.0.1'])
    assert.ok(!isLoopbackAddress(a), a);
  assert.ok(isLocalHostHeader('127.0.0.1:8339'));
  assert.ok(isLocalHostHeader('[::1]:8339'));
  assert.ok(isLocalHostHeader('localhost'));
  for (const h of [
    undefined,
    '',
    'evil.example',
    'evil.example:8339',
    '127.0.0.1.evil.example',
    'localhost.evil',
  ])
    assert.ok(!isLocalHostHeader(h), String(h));
});

test('tokens: generated ones are long and random; comparison works for any lengths', () => {
  const a = generateToken();
  assert.equal(a.length, 32);
  assert.notEqual(a, generateToken());
  assert.ok(safeEqual('abc', 'abc'));
  assert.ok(!safeEqual('abc', 'abcd'));
  assert.ok(!safeEqual('', 'x'));
});

test('authorized by Bearer header or by the cookie, which does not contain the token', () => {
  const t = 'the-token';
  assert.ok(isAuthorized(req({ authorization: `Bearer ${t}` }), t));
  assert.ok(isAuthorized(req({ authorization: `bearer ${t}` }), t));
  assert.ok(!isAuthorized(req({ authorization: `Basic ${t}` }), t));
  assert.ok(!isAuthorized(req({ authorization: 'Bearer wrong' }), t));
  assert.ok(!isAuthorized(req({}), t));
  const cookie = sessionCookie(t);
  assert.ok(!cookie.includes(t));
  assert.match(cookie, /HttpOnly; SameSite=Strict/);
  assert.ok(isAuthorized(req({ cookie: `a=b; tw_session=${cookieValue(t)}` }), t));
  assert.ok(!isAuthorized(req({ cookie: `tw_session=${t}` }), t));
});
