// The TLS identity of the listener: --tls-cert/--tls-key, or a self-signed certificate generated into the
// data dir at first start (with Debian's openssl: Node has no API to issue X.509 certificates).
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SecureContextOptions } from 'node:tls';
import type { Config } from '../../config/schema.js';
import { ConfigError, TidewatchError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

const run = promisify(execFile);

export interface TlsIdentity {
  cert: string;
  key: string;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

export async function loadOrCreateCertificate(cfg: Config, log: Logger): Promise<TlsIdentity> {
  if (cfg.tlsCert) {
    try {
      return { cert: await readFile(cfg.tlsCert, 'utf8'), key: await readFile(cfg.tlsKey, 'utf8') };
    } catch (err) {
      throw new ConfigError(`cannot read --tls-cert/--tls-key: ${(err as Error).message}; check both paths`);
    }
  }
  const dir = join(cfg.dataDir, 'tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (!(await exists(certFile)) || !(await exists(keyFile))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // RSA rather than ECDSA: old scanners and IoT clients often offer only RSA key exchange suites.
    const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=localhost'];
    try {
      await run('openssl', [...args, '-keyout', keyFile, '-out', certFile], { timeout: 30_000 });
    } catch (err) {
      throw new TidewatchError(
        'TW_ERR_PREREQ',
        `cannot generate the TLS certificate with openssl (${(err as Error).message.split('\n')[0]}); install openssl or give --tls-cert and --tls-key`,
      );
    }
    await chmod(keyFile, 0o600);
    log.info({ cert: certFile }, 'generated a self-signed TLS certificate');
  }
  return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/**
 * Server options that complete handshakes with as many clients as possible: a honeypot wants to see what
 * old scanners send, so protocol and cipher floors are lowered on purpose (nothing secret is protected).
 */
export function honeypotTlsOptions(id: TlsIdentity): SecureContextOptions {
  return { cert: id.cert, key: id.key, minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' };
}
