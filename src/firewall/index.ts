// nftables block sets with timeouts (--block); the tarpit (--tarpit) is a socket feeder in listen/tarpit.ts.
// The scan detector hands each episode event to judge() before emitting it (sensor.ts), so each event's action
// is decided before it is written, and episodes the alert budget keeps back are judged too; the nft work runs
// afterwards, batched. The table is installed at start (replacing a crashed run's
// leftover) and removed on close.
import type { SensorContext } from '../core/context.js';
import type { ScanEvent } from '../core/events.js';
import { TidewatchError } from '../core/errors.js';
import { component, type Component } from '../core/lifecycle.js';
import { BlockPolicy } from './block-sets.js';
import { addScript, runNft, runNftSync, setupScript, teardownScript } from './nft.js';
import { parseAllow, Safety } from './safety.js';

/** How often the map of active blocks is checked for expired elements. */
const EXPIRY_TICK_MS = 500;

export interface Blocker extends Component {
  /** The block policy's decision for one scan episode event (sets its action); `reported`: it is emitted. */
  judge(ev: ScanEvent, reported: boolean): void;
}

export async function startBlocker(ctx: SensorContext): Promise<Blocker> {
  const { cfg, log } = ctx;
  const mode = cfg.block;
  if (mode === 'off') return { ...component('blocker', async () => {}), judge: () => {} };
  const safety = new Safety({ allow: parseAllow(cfg.allow), sshPort: cfg.sshPort });
  const on = mode === 'on';
  if (on) {
    await runNft(setupScript(cfg.maxBlocked));
    log.info({ table: 'inet tidewatch_block', blockFor: cfg.blockFor }, 'block table installed');
  }
  const policy = new BlockPolicy(ctx, safety, {
    mode,
    blockForMs: cfg.blockFor,
    blockSpoofable: cfg.blockSpoofable,
    maxBlocked: cfg.maxBlocked,
    apply: on ? (items) => runNft(addScript(items)) : undefined,
  });
  if (on) ctx.stats.set('blocks_active', 0);
  let off = false;
  const judge = (ev: ScanEvent, reported: boolean): void => {
    if (!off) policy.decide(ev, reported);
  };
  const timer = setInterval(() => policy.expire(), Math.min(EXPIRY_TICK_MS, cfg.blockFor));
  timer.unref();

  let removed = !on;
  const removeSync = () => {
    if (removed) return;
    removed = true;
    try {
      runNftSync(teardownScript());
    } catch {
      /* nothing more we can do at exit; the next start cleans up */
    }
  };
  // A crash or process.exit() after start must not leave the drop rule behind.
  process.once('exit', removeSync);

  const c = component(
    'blocker',
    async () => {
      off = true;
      clearInterval(timer);
      await policy.close();
      process.removeListener('exit', removeSync);
      if (removed) return;
      removed = true;
      await removeBlockTable();
      policy.active.clear();
      ctx.stats.set('blocks_active', 0);
      log.info('block table removed');
    },
    () => {
      off = true;
      clearInterval(timer);
      process.removeListener('exit', removeSync);
      removeSync();
    },
  );
  return { ...c, judge };
}

/** Removes the block table on stop; a failure says how to remove it by hand. */
async function removeBlockTable(): Promise<void> {
  try {
    await runNft(teardownScript());
  } catch (err) {
    throw new TidewatchError(
      'TW_ERR_FIREWALL',
      `could not remove table inet tidewatch_block (${(err as Error).message}): remove it with "nft delete table inet tidewatch_block"`,
    );
  }
}
