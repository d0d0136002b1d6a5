import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../core/log.js';
import { honeypotTlsOptions, loadOrCreateCertificate } from './certificate.js';

const log = createLogger('silent' as never);

test('a self-signed certificate is generated once into the data dir and serves a handshake', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-cert-'));
  const cfg = loadConfig({ flags: { 'data-dir': dataDir } });
  const first = await loadOrCreateCertificate(cfg, log);
  assert.equal(first.cert.length, 2, 'ECDSA and RSA');
  assert.match(first.cert[0]!, /BEGIN CERTIFICATE/);
  assert.match(first.key[0]!, /BEGIN PRIVATE KEY/);
  for (const key of ['ec-key.pem', 'key.pem'])
    assert.equal(statSync(join(dataDir, 'tls', key)).mode & 0o777, 0o600, key);
  const second = await loadOrCreateCertificate(cfg, log);
  assert.deepEqual(second.cert, first.cert, 'reused at the next start');

  const server = createServer(honeypotTlsOptions(first), (s) => s.end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const got = await new Promise<{ text: string; keyType: string }>((resolve, reject) => {
    let keyType = '';
    const c = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => {
      keyType = c.getPeerX509Certificate()?.publicKey.asymmetricKeyType === 'ec' ? 'EC' : 'other';
    });
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    c.on('end', () => resolve({ text, keyType }));
    c.on('error', reject);
  });
  server.close();
  assert.equal(got.text, 'hello');
  assert.equal(got.keyType, 'EC', 'the ECDSA certificate is served first');
});

test('--tls-cert that cannot be read is a one-line config error', async () => {
  const cfg = loadConfig({ flags: { 'tls-cert': '/nonexistent/c.pem', 'tls-key': '/nonexistent/k.pem' } });
  await assert.rejects(loadOrCreateCertificate(cfg, log), {
    code: 'TW_ERR_CONFIG',
    message: /cannot read --tls-cert/,
  });
});
