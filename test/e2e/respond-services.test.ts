// The other personas with their real clients: curl for FTP, SMTP, POP3 and IMAP logins, redis-cli, the
// MariaDB client, and nmap -sV naming every service from what the personas answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isRoot } from '../helpers/testbed.js';
import { startRespondBed, type RespondBed } from './respond-lib.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';
const PORTS = '21,22,23,25,80,110,143,1883,3306,5900,6379';

describe('responder: FTP, SMTP, POP3, IMAP, Redis, MySQL, VNC, MQTT', { skip }, () => {
  let rb: RespondBed;
  before(async () => {
    rb = await startRespondBed(['--tcp-ports', PORTS, '--udp-ports', '']);
  });
  after(async () => rb?.close());

  test('curl logins to FTP, SMTP, POP3 and IMAP: each credential recorded, each refused', async () => {
    const ip = rb.bed.sensorIp;
    const runs: [number, string[]][] = [
      [21, ['-u', 'ftpuser:pw-ftp', `ftp://${ip}/`]],
      [
        25,
        [
          '-u',
          'mailer:pw-smtp',
          '--mail-from',
          'a@example.com',
          '--mail-rcpt',
          'b@example.com',
          '-T',
          '/etc/hostname',
          `smtp://${ip}/`,
        ],
      ],
      [110, ['-u', 'popper:pw-pop3', `pop3://${ip}/`]],
      [143, ['-u', 'imapper:pw-imap', `imap://${ip}/`]],
    ];
    for (const [port, args] of runs) {
      const r = await rb.run('curl', ['-s', '--max-time', '10', ...args]);
      assert.equal(r.code, 67, `port ${port}: login must be denied (curl exit 67), got ${r.code}`);
      const rec = await rb.find(port, (x) => !!x.credentials);
      const [user, pw] = args[1]!.split(':');
      assert.deepEqual(rec.credentials, [{ username: user, password: pw }]);
    }
  });

  test('SMTP records MAIL, RCPT and the first bytes of DATA', async () => {
    const r = await rb.run('nc', ['-w', '5', rb.bed.sensorIp, '25'], {
      input:
        'EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: hi\r\n\r\nbody text\r\n.\r\nQUIT\r\n',
    });
    assert.match(r.stdout, /^220 /);
    const rec = await rb.find(25, (x) => x.commands?.includes('QUIT') ?? false);
    assert.deepEqual(rec.commands, [
      'EHLO x',
      'MAIL FROM:<a@example.com>',
      'RCPT TO:<b@example.com>',
      'DATA',
      'DATA Subject: hi\n\nbody text\n',
      'QUIT',
    ]);
  });

  test('redis-cli gets PONG, and every command is recorded', async () => {
    const r = await rb.run('redis-cli', ['-h', rb.bed.sensorIp, 'PING']);
    assert.equal(r.stdout.trim(), 'PONG');
    const r2 = await rb.run('redis-cli', ['-h', rb.bed.sensorIp, 'CONFIG', 'SET', 'dir', '/var/spool/cron']);
    assert.equal(r2.stdout.trim(), 'OK');
    await rb.find(6379, (x) => x.commands?.[0] === 'PING');
    const rec = await rb.find(6379, (x) => x.commands?.[0] === 'CONFIG SET dir /var/spool/cron');
    assert.equal(rec.persona, 'redis');
  });

  test('the MariaDB client: username recorded, access denied', async () => {
    const r = await rb.run('mariadb', [
      '--skip-ssl',
      '--connect-timeout',
      '10',
      '-h',
      rb.bed.sensorIp,
      '-u',
      'dbadmin',
      '-phunter2',
      '-e',
      'select 1',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ERROR 1045 \(28000\): Access denied for user 'dbadmin'/);
    const rec = await rb.find(3306, (x) => x.credentials?.[0]?.username === 'dbadmin');
    assert.match(rec.credentials![0]!.auth_data!, /^[0-9a-f]{40}$/);
  });

  test('VNC: the RFB handshake and the authentication response are recorded', async () => {
    const script = `
      const s = require('net').connect(5900, process.argv[1]);
      let step = 0;
      s.on('data', (d) => {
        if (step === 0) s.write('RFB 003.008\\n');
        else if (step === 1) s.write(Buffer.from([2]));
        else if (step === 2) s.write(Buffer.alloc(16, 0xab));
        else { process.stdout.write(d.subarray(0, 4).toString('hex')); s.end(); }
        step++;
      });
      setTimeout(() => process.exit(1), 10000).unref();`;
    const r = await rb.run(process.execPath, ['-e', script, rb.bed.sensorIp]);
    assert.equal(r.stdout, '00000001');
    const rec = await rb.find(5900, (x) => !!x.credentials);
    assert.deepEqual(rec.commands, ['RFB 003.008', 'security 2']);
    assert.equal(rec.credentials![0]!.auth_data, 'ab'.repeat(16));
  });

  test('MQTT: CONNECT answered with CONNACK; client id, username and password recorded', async () => {
    const script = `
      const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
      const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str('bot-7'), str('admin'), str('public')]);
      const s = require('net').connect(1883, process.argv[1], () => s.write(Buffer.concat([Buffer.from([0x10, body.length]), body])));
      s.on('data', (d) => { process.stdout.write(d.toString('hex')); s.end(); });
      setTimeout(() => process.exit(1), 10000).unref();`;
    const r = await rb.run(process.execPath, ['-e', script, rb.bed.sensorIp]);
    assert.equal(r.stdout, '20020000');
    const rec = await rb.find(1883, (x) => !!x.credentials);
    assert.equal(rec.persona, 'mqtt');
    assert.deepEqual(rec.commands, ['CONNECT bot-7']);
    assert.deepEqual(rec.credentials, [{ username: 'admin', password: 'public' }]);
  });

  test('nmap -sV names ssh, telnet, ftp, smtp, http, mysql and redis', async () => {
    const r = await rb.run('nmap', ['-sV', '-Pn', '-n', '-p', '21,22,23,25,80,3306,6379', rb.bed.sensorIp], {
      timeoutMs: 240_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const services = new Map(
      [...r.stdout.matchAll(/^(\d+)\/tcp\s+open\s+(\S+)/gm)].map((m) => [Number(m[1]), m[2]]),
    );
    assert.deepEqual(Object.fromEntries(services), {
      21: 'ftp',
      22: 'ssh',
      23: 'telnet',
      25: 'smtp',
      80: 'http',
      3306: 'mysql',
      6379: 'redis',
    });
  });
});
