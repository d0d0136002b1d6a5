// SSH persona with OpenSSH's client: passwords through sshpass and a public key, each recorded with the
// username, the client's identification and HASSH, then denied; --ssh-accept lets a password in to the
// recording shell (exec).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isRoot } from '../helpers/testbed.js';
import { startRespondBed, type RespondBed } from './respond-lib.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';
const SSH_OPTS = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'ConnectTimeout=10',
];

/** ssh with a password through sshpass (public keys off), to `user@sensor` on `port`. */
const sshpass = (rb: RespondBed, pw: string, port: number, user: string, cmd: string) =>
  rb.run('sshpass', [
    '-p',
    pw,
    'ssh',
    ...SSH_OPTS,
    '-o',
    'PubkeyAuthentication=no',
    '-p',
    String(port),
    `${user}@${rb.bed.sensorIp}`,
    cmd,
  ]);

describe('responder: SSH', { skip }, () => {
  let rb: RespondBed;
  let keyDir: string;
  before(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'tw-ssh-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
    rb = await startRespondBed(['--tcp-ports', '22,2222', '--udp-ports', '']);
  });
  after(async () => {
    await rb?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('two passwords tried with sshpass: both recorded with the username and HASSH, both denied', async () => {
    for (const pw of ['123456', 'admin@2024']) {
      const r = await sshpass(rb, pw, 2222, 'admin', 'true');
      assert.notEqual(r.code, 0, 'login must be denied');
    }
    for (const pw of ['123456', 'admin@2024']) {
      const rec = await rb.find(2222, (x) => x.credentials?.some((c) => c.password === pw) ?? false);
      assert.equal(rec.persona, 'ssh');
      assert.equal(rec.credentials![0]!.username, 'admin');
      assert.match(rec.ssh!.client, /^SSH-2\.0-OpenSSH_/);
      assert.match(rec.ssh!.hassh!, /^[0-9a-f]{32}$/);
      assert.ok(rec.ssh!.hassh_algorithms!.split(';').length === 4);
    }
  });

  test('a public key: its type and fingerprint are recorded', async () => {
    const key = join(keyDir, 'id');
    const want = execFileSync('ssh-keygen', ['-lf', `${key}.pub`])
      .toString()
      .split(' ')[1];
    const r = await rb.run('ssh', [
      ...SSH_OPTS,
      '-o',
      'BatchMode=yes',
      '-i',
      key,
      '-p',
      '22',
      `root@${rb.bed.sensorIp}`,
      'true',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied/);
    const rec = await rb.find(22, (x) => x.credentials?.some((c) => c.key_fingerprint) ?? false);
    assert.deepEqual(
      rec.credentials!.find((c) => c.key_fingerprint),
      {
        username: 'root',
        key_type: 'ssh-ed25519',
        key_fingerprint: want,
      },
    );
  });

  test('host keys are written to the data dir', () => {
    const pub = readFileSync(join(rb.sensor.dataDir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8');
    assert.match(pub, /^ssh-ed25519 /);
  });
});

describe('responder: SSH with --ssh-accept', { skip }, () => {
  let rb: RespondBed;
  before(async () => {
    rb = await startRespondBed(['--tcp-ports', '2222', '--udp-ports', '', '--ssh-accept']);
  });
  after(async () => rb?.close());

  test('a password login gets the recording shell: commands answered and recorded', async () => {
    const r = await sshpass(rb, 'toor', 2222, 'root', 'uname; /bin/busybox MIORI');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Linux\r\nMIORI: applet not found\r\n');
    const rec = await rb.find(2222, (x) => !!x.commands);
    assert.deepEqual(rec.credentials, [{ username: 'root', password: 'toor' }]);
    assert.deepEqual(rec.commands, ['uname; /bin/busybox MIORI']);
  });
});
