// Clean restarts. tidewatch.pid in the data dir says that a tidewatch runs there, or ran and did not stop
// cleanly (SIGKILL, OOM, power loss): a clean stop removes it after the firewall tables are gone. At start,
// a lock whose pid is a live tidewatch refuses the start (its tables and routes are in use); a stale one
// means a killed run's TPROXY table, ip rules, routes and block table may still be there, and they are
// removed whatever mode this start uses (the same mode alone would replace only its own part).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SensorContext } from '../core/context.js';
import { TidewatchError } from '../core/errors.js';
import { component, type Component } from '../core/lifecycle.js';
import { runNft, teardownScript } from './nft.js';
import { removeTproxy } from './tproxy.js';

export const LOCK_FILE = 'tidewatch.pid';

/** The pid a lock file names, if it is a running tidewatch other than this process. */
export function liveOwner(text: string, self = process.pid): number | undefined {
  const pid = /^\d{1,10}\n?$/.test(text) ? Number(text) : 0;
  if (!pid || pid === self) return undefined;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined; // no such process
  }
  // A pid reused by another program (after a reboot, in a container) is not an owner.
  return /tidewatch|cli\/main\.js/.test(cmdline) ? pid : undefined;
}

/** What a killed tidewatch may have left: both tables, the ip rules and the route table. Idempotent. */
export async function removeLeftovers(): Promise<void> {
  await removeTproxy();
  await runNft(teardownScript()).catch(() => {}); // no nft or no privilege: nothing of ours can be there
}

/**
 * Claims the data dir: refuses when a live tidewatch holds it, cleans up after a dead one, and writes this
 * process's pid. The component's close() (it closes last) removes the lock.
 */
export async function claimDataDir(ctx: SensorContext): Promise<Component> {
  const dir = ctx.cfg.dataDir;
  const path = join(dir, LOCK_FILE);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let previous: string | undefined;
  try {
    previous = readFileSync(path, 'utf8');
  } catch {
    /* no lock: the last run stopped cleanly, or none ran here */
  }
  if (previous !== undefined) {
    const owner = liveOwner(previous);
    if (owner)
      throw new TidewatchError(
        'TW_ERR_CONFIG',
        `--data-dir ${dir} is in use by a running tidewatch (pid ${owner}): stop it first or give another --data-dir`,
      );
    await removeLeftovers();
    ctx.log.info(
      { pid: previous.trim().slice(0, 10) },
      'removed what a killed tidewatch left in the firewall',
    );
  }
  const tmp = `${path}.${process.pid}`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
  renameSync(tmp, path);
  const release = (): void => rmSync(path, { force: true });
  process.once('exit', release);
  return component(
    'data-dir lock',
    async () => {
      process.off('exit', release);
      release();
    },
    () => {
      process.off('exit', release);
      release();
    },
  );
}
