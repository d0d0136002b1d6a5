// The TLS identity of the listener (and of the dashboard's HTTPS): --tls-cert/--tls-key, or self-signed
// certificates generated into the data dir at first start (with Debian's openssl: Node has no API to issue
// X.509 certificates). One home for TLS server setup: the listener, the dashboard and the personas use it.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SecureContextOptions } from 'node:tls';
import type { Config } from '../../config/schema.js';
import { ConfigError, TidewatchError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

const run = promisify(execFile);

/** Certificates and keys in the order OpenSSL should prefer them: ECDSA P-256 first, then RSA. */
export interface TlsIdentity {
  cert: string[];
  key: string[];
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * Generated pairs under <data-dir>/tls/. ECDSA P-256 first: signing a handshake costs ~25 µs against ~340 µs
 * for RSA-2048 on the event loop. RSA stays for old scanners and IoT clients that offer only RSA suites or
 * signature algorithms; OpenSSL picks it only for them.
 */
const GENERATED = [
  { cert: 'ec-cert.pem', key: 'ec-key.pem', newkey: ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] },
  { cert: 'cert.pem', key: 'key.pem', newkey: ['rsa:2048'] },
] as const;

async function readPair(certFile: string, keyFile: string): Promise<[string, string]> {
  return [await readFile(certFile, 'utf8'), await readFile(keyFile, 'utf8')];
}

async function generate(certFile: string, keyFile: string, newkey: readonly string[]): Promise<void> {
  const args = ['req', '-x509', '-newkey', ...newkey, '-nodes', '-days', '3650', '-subj', '/CN=localhost'];
  try {
    await run('openssl', [...args, '-keyout', keyFile, '-out', certFile], { timeout: 30_000 });
  } catch (err) {
    throw new TidewatchError(
      'TW_ERR_PREREQ',
      `cannot generate the TLS certificate with openssl (${(err as Error).message.split('\n')[0]}); install openssl or give --tls-cert and --tls-key`,
    );
  }
  await chmod(keyFile, 0o600);
}

export async function loadOrCreateCertificate(cfg: Config, log: Logger): Promise<TlsIdentity> {
  if (cfg.tlsCert) return readGiven(cfg.tlsCert, cfg.tlsKey, '--tls-cert/--tls-key');
  const dir = join(cfg.dataDir, 'tls');
  const id: TlsIdentity = { cert: [], key: [] };
  for (const g of GENERATED) {
    const certFile = join(dir, g.cert);
    const keyFile = join(dir, g.key);
    if (!(await exists(certFile)) || !(await exists(keyFile))) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await generate(certFile, keyFile, g.newkey);
      log.info({ cert: certFile }, 'generated a self-signed TLS certificate');
    }
    const [cert, key] = await readPair(certFile, keyFile);
    id.cert.push(cert);
    id.key.push(key);
  }
  return id;
}

/** An operator's certificate and key (one pair, whatever its key type). */
export async function readGiven(certFile: string, keyFile: string, flags: string): Promise<TlsIdentity> {
  try {
    const [cert, key] = await readPair(certFile, keyFile);
    return { cert: [cert], key: [key] };
  } catch (err) {
    throw new ConfigError(`cannot read ${flags}: ${(err as Error).message}; check both paths`);
  }
}

/**
 * Server options that complete handshakes with as many clients as possible: a honeypot wants to see what
 * old scanners send, so protocol and cipher floors are lowered on purpose (nothing secret is protected).
 * The server's order decides (honorCipherOrder): ECDHE-ECDSA suites and ECDSA signature algorithms come
 * first, so the cheap certificate serves every client that can use it.
 */
export function honeypotTlsOptions(id: TlsIdentity): SecureContextOptions {
  return {
    cert: id.cert,
    key: id.key,
    minVersion: 'TLSv1',
    ciphers: 'aECDSA:ALL:@SECLEVEL=0',
    honorCipherOrder: true,
  };
}
