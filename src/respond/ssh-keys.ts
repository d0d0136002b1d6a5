// SSH host keys: Ed25519 and ECDSA, generated into the data dir at first start (mode 0600) and reused, so
// a sensor's host key fingerprint stays the same across restarts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TidewatchError } from '../core/errors.js';
import { ssh2 } from './ssh-lib.js';

const KEYS = [
  ['ssh_host_ed25519_key', 'ed25519', {}],
  ['ssh_host_ecdsa_key', 'ecdsa', { bits: 256 }],
] as const;

export function loadOrCreateHostKeys(dataDir: string): Buffer[] {
  const dir = join(dataDir, 'ssh');
  const out: Buffer[] = [];
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [name, type, opts] of KEYS) {
      const file = join(dir, name);
      if (!existsSync(file)) {
        const pair = ssh2().utils.generateKeyPairSync(type, opts);
        writeFileSync(file, pair.private, { mode: 0o600 });
        writeFileSync(`${file}.pub`, pair.public + '\n', { mode: 0o644 });
      }
      out.push(readFileSync(file));
    }
  } catch (err) {
    throw new TidewatchError(
      'TW_ERR_CONFIG',
      `SSH host keys in ${dir}: ${(err as Error).message}; make the data dir writable or --respond off`,
    );
  }
  return out;
}
