// The shipped rules: every one has a fixture written from its advisory that it matches, and none fires on
// ordinary traffic (curl, browsers, ssh, nc, the probes of nmap -sV).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classify } from './classify.js';
import { loadRules } from './index.js';
import type { Rule } from './rules.js';

const rules = loadRules('');
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const txt = (s: string): Buffer => Buffer.from(s, 'latin1');

function hitsOf(payload: Buffer, dport: number, commands?: string[]): string[] {
  const tcp = classify({ proto: 'tcp', dport, payload, commands }, rules).rules;
  const udp = classify({ proto: 'udp', dport, payload, commands }, rules).rules;
  return [...new Set([...tcp, ...udp])];
}

test('at least 60 shipped rules, each with CVEs or a reference, tags and a fixture', () => {
  assert.ok(rules.length >= 60, `${rules.length} rules`);
  const withCves = rules.filter((r) => r.cves.length > 0).length;
  assert.ok(withCves >= 55, `${withCves} rules with CVE ids`);
  for (const r of rules) {
    assert.ok(r.fixture, `${r.id} has no fixture`);
    assert.ok(r.tags.length > 0, `${r.id} has no tags`);
    assert.ok(r.references.length > 0, `${r.id} names no source`);
  }
});

test('every shipped rule matches its own fixture', () => {
  const missed: string[] = [];
  for (const r of rules as Rule[]) {
    const f = r.fixture!;
    if (!hitsOf(f.payload, f.port, f.commands).includes(r.id)) missed.push(r.id);
  }
  assert.deepEqual(missed, []);
});

test('a fixture carries its rule CVEs and tags into the result', () => {
  const log4j = rules.find((r) => r.id === 'log4shell-jndi-http')!;
  const out = classify({ proto: 'tcp', dport: 80, payload: log4j.fixture!.payload }, rules);
  assert.ok(out.cves.includes('CVE-2021-44228'));
  assert.ok(out.tags.includes('log4shell'));
});

// Ordinary traffic: what curl, browsers, ssh, nc and nmap -sV's service probes send first.
const ORDINARY: [string, number, Buffer][] = [
  ['curl', 80, txt('GET / HTTP/1.1\r\nHost: 198.18.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n')],
  [
    'curl POST form',
    80,
    txt(
      'POST /login HTTP/1.1\r\nHost: 198.18.0.1\r\nUser-Agent: curl/7.88.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 27\r\n\r\nuser=alice&password=s3cr3t!',
    ),
  ],
  [
    'curl JSON',
    8080,
    txt(
      'POST /api/v1/items HTTP/1.1\r\nHost: 198.18.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: 25\r\n\r\n{"name":"a","tags":["b"]}',
    ),
  ],
  [
    'chromium',
    443,
    txt(
      'GET /index.html?utm_source=news&id=42 HTTP/1.1\r\nHost: example.org\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\nReferer: https://www.example.org/search?q=${x}\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: session=abc123; theme=dark\r\n\r\n',
    ),
  ],
  [
    'firefox',
    80,
    txt(
      'GET /favicon.ico HTTP/1.1\r\nHost: 198.18.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: image/avif,image/webp,*/*\r\n\r\n',
    ),
  ],
  ['ssh', 22, txt('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')],
  ['nc text', 23, txt('hello there\nhow are you?\n')],
  ['nc shell-ish text', 2323, txt('ls -la; cat /etc/motd\n')],
  ['redis-cli', 6379, txt('*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n')],
  ['nmap GetRequest', 80, txt('GET / HTTP/1.0\r\n\r\n')],
  ['nmap HTTPOptions', 80, txt('OPTIONS / HTTP/1.0\r\n\r\n')],
  ['nmap FourOhFourRequest', 80, txt('GET /nice%20ports%2C/Tri%6Eity.txt%2ebak HTTP/1.0\r\n\r\n')],
  ['nmap RTSPRequest', 554, txt('OPTIONS / RTSP/1.0\r\n\r\n')],
  ['nmap GenericLines', 23, txt('\r\n\r\n')],
  ['nmap Help', 21, txt('HELP\r\n')],
  [
    'nmap SIPOptions',
    5060,
    txt(
      'OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\nContact: <sip:nm@nm>\r\nAccept: application/sdp\r\n\r\n',
    ),
  ],
  [
    'nmap TerminalServerCookie',
    3389,
    hex(
      '030000 2a 25 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 6e 6d 61 70 0d 0a 01 00 08 00 03 00 00 00',
    ),
  ],
  [
    'nmap SMBProgNeg',
    445,
    hex(
      '000000a4ff534d42720000000008014000000000000000000000000000000640000001000081000025043204e4554574f524b2050524f4752414d20312e3000024d4943524f534f4654204e4554574f524b5320312e303300024d4943524f534f4654204e4554574f524b5320332e3000024c414e4d414e312e3000024c4d312e3258303032000253616d626100024e54204c414e4d414e20312e3000024e54204c4d20302e313200',
    ),
  ],
  [
    'nmap TLSSessionReq',
    443,
    hex(
      '16030000690100006503034e1dd4df14d5ee4f0b62cbc7e4e1a9f8fc3cdffcff53b9c2a8c4acb62c1c1e3d00002000040005000a000900640062000300060013001200630100002d00000a00080006001700180019000b00020100000d000e000c040104030501050302010203',
    ),
  ],
  ['nmap DNSVersionBindReqTCP', 53, hex('001e0006010000010000000000000776657273696f6e0462696e640000100003')],
  ['nmap X11Probe', 6000, hex('6c000b000000000000000000')],
  ['nmap LDAPSearchReq', 389, hex('300c020101600702010304008000')],
  ['nmap JavaRMI', 1099, hex('4a524d4900024b')],
  ['nmap redis-server', 6379, txt('*1\r\n$4\r\ninfo\r\n')],
  ['nmap Memcache', 11211, txt('stats\r\n')],
  ['nmap NTPRequest udp', 123, Buffer.concat([hex('e3 00 04 fa 00 01 00 00 00 01 00 00'), Buffer.alloc(36)])],
  [
    'nmap SNMPv1public udp',
    161,
    hex(
      '3082002f02010004067075626c6963a082002002044c33a756020100020100308200103082000c06082b060102010105000500',
    ),
  ],
];

test('no shipped rule fires on ordinary traffic', () => {
  const fired: string[] = [];
  for (const [what, port, payload] of ORDINARY) {
    const hits = hitsOf(payload, port).filter((id) => !INFORMATIONAL.has(id));
    if (hits.length) fired.push(`${what}: ${hits.join(', ')}`);
  }
  assert.deepEqual(fired, []);
});

// Rules that name reconnaissance rather than an exploit; a plain `stats` does look like one.
const INFORMATIONAL = new Set(['memcached-udp-stats-reflection']);
