// --user NAME: a sensor started as root opens what needs root, then runs as NAME with only the capabilities
// it still needs (docs/privileges.md). The switch itself is native/privileges.cc (Node has no capset API).
import { execFileSync } from 'node:child_process';
import { lchownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from './addon.js';
import { ConfigError, TidewatchError } from './errors.js';

/** Capability numbers (linux/capability.h). */
export const CAP = { NET_BIND_SERVICE: 10, NET_ADMIN: 12, NET_RAW: 13 } as const;

interface NativePriv {
  dropPrivileges(uid: number, gid: number, groups: number[], keep: number[]): void;
  keepCapabilities(keep: number[]): void;
}

const addon = (): NativePriv => loadAddon<NativePriv>('tidewatch_priv', 'privileges', 'needs g++ and make');

/**
 * What the running sensor keeps: CAP_NET_ADMIN while blocking or tproxy is on (nft, ip, transparent
 * sockets), CAP_NET_RAW while capturing; at start also CAP_NET_BIND_SERVICE (ports below 1024).
 */
export function capabilitiesFor(
  cfg: { block: string; listen: string; capture: string },
  phase: 'start' | 'running',
): number[] {
  const caps: number[] = [];
  if (phase === 'start') caps.push(CAP.NET_BIND_SERVICE);
  if (cfg.block === 'on' || cfg.listen === 'tproxy') caps.push(CAP.NET_ADMIN);
  if (cfg.capture) caps.push(CAP.NET_RAW);
  return caps;
}

export interface Account {
  uid: number;
  gid: number;
  groups: number[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** Looks the user up (through NSS, as `id` does); a bad or unknown name is a config error. */
export function lookUpUser(name: string): Account {
  if (!NAME.test(name))
    throw new ConfigError(`--user: ${JSON.stringify(name.slice(0, 40))} is not a user name`);
  const id = (flag: string): number[] => {
    try {
      return execFileSync('id', [flag, '--', name], { encoding: 'utf8', timeout: 5000 })
        .trim()
        .split(/\s+/)
        .map(Number);
    } catch {
      throw new ConfigError(`--user: no user ${name} here: create it (useradd --system ${name})`);
    }
  };
  const [uid = NaN] = id('-u');
  const [gid = NaN] = id('-g');
  const groups = id('-G');
  if (![uid, gid, ...groups].every((n) => Number.isInteger(n) && n >= 0))
    throw new ConfigError(`--user: cannot read the ids of ${name}`);
  return { uid, gid, groups };
}

/** Gives the data dir and everything in it to the account, so it can go on writing there. */
function chownTree(dir: string, a: Account): void {
  for (const name of readdirSync(dir, { recursive: true })) lchownSync(join(dir, String(name)), a.uid, a.gid);
  lchownSync(dir, a.uid, a.gid);
}

/** Switches to --user keeping `caps`. Call before any file of the data dir is opened for writing. */
export function dropToUser(cfg: { user: string; dataDir: string }, caps: number[]): Account {
  if (process.geteuid?.() !== 0)
    throw new ConfigError('--user needs tidewatch started as root: start it as root or leave --user out');
  const account = lookUpUser(cfg.user);
  if (cfg.dataDir.split('/').filter(Boolean).length < 2)
    throw new ConfigError(
      '--user: give --data-dir a directory of its own (e.g. /var/lib/tidewatch): it is chowned',
    );
  chownTree(cfg.dataDir, account);
  try {
    addon().dropPrivileges(account.uid, account.gid, account.groups, caps);
  } catch (err) {
    throw new TidewatchError('TW_ERR_CONFIG', `--user ${cfg.user}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return account;
}

/** Narrows the capabilities to `caps` once the sensor is up (no port is bound later). */
export function keepCapabilities(caps: number[]): void {
  addon().keepCapabilities(caps);
}
