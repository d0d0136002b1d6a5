import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import {
  cookieValue,
  generateToken,
  isAuthorized,
  isCrossSite,
  isLocalHostHeader,
  isLoopbackAddress,
  safeEqual,
  sessionCookie,
} from './auth.js';
import { LoginLimiter } from './login-limit.js';

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

test('cross-site: Sec-Fetch-Site and Origin must name this server; clients without them pass', () => {
  const host = { host: '198.18.0.1:8339' };
  assert.ok(!isCrossSite(req(host)), 'curl sends neither');
  assert.ok(!isCrossSite(req({ ...host, 'sec-fetch-site': 'same-origin' })));
  assert.ok(!isCrossSite(req({ ...host, 'sec-fetch-site': 'none' })), 'typed into the address bar');
  for (const site of ['cross-site', 'same-site'])
    assert.ok(isCrossSite(req({ ...host, 'sec-fetch-site': site })));
  assert.ok(!isCrossSite(req({ ...host, origin: 'https://198.18.0.1:8339' })));
  assert.ok(isCrossSite(req({ ...host, origin: 'https://evil.example' })));
  assert.ok(isCrossSite(req({ ...host, origin: 'https://198.18.0.1:8340' })));
  assert.ok(isCrossSite(req({ ...host, origin: 'null' })));
  assert.ok(isCrossSite(req({ origin: 'https://198.18.0.1:8339' })), 'an Origin but no Host');
});

test('the login cookie is Secure over HTTPS', () => {
  assert.match(sessionCookie('t', true), /; Secure$/);
  assert.doesNotMatch(sessionCookie('t'), /Secure/);
});

test('failed logins: limited per address (an IPv6 /64 is one), other addresses unaffected', () => {
  const l = new LoginLimiter(3);
  const t = 1_000_000;
  for (let i = 0; i < 3; i++) {
    assert.ok(l.allowed('203.0.113.5', t));
    l.failed('203.0.113.5', t);
  }
  assert.ok(!l.allowed('203.0.113.5', t));
  assert.ok(!l.allowed('::ffff:203.0.113.5', t), 'the same client on a dual-stack socket');
  assert.ok(l.allowed('203.0.113.6', t));
  for (let i = 0; i < 3; i++) l.failed(`2001:db8:1:2::${i + 1}`, t);
  assert.ok(!l.allowed('2001:db8:1:2:ffff::9', t), 'same /64');
  assert.ok(l.allowed('2001:db8:1:3::1', t), 'next /64');
  assert.ok(!l.allowed('203.0.113.5', t + 59_000), 'refused for the rest of the minute');
  assert.ok(l.allowed('203.0.113.5', t + 60_000), 'a new minute');
});
