// nftables block sets with timeouts (--block); the tarpit (--tarpit) is a socket feeder in listen/tarpit.ts.
// Subscribed to scan events before the sinks (sensor.ts), so each event's action is decided before it is
// written; the nft work runs afterwards, batched. The table is installed at start (replacing a crashed run's
// leftover) and removed on close.
import type { SensorContext } from '../core/context.js';
import { TidewatchError } from '../core/errors.js';
import { component, type Component } from '../core/lifecycle.js';
import { BlockPolicy } from './block-sets.js';
import { addScript, runNft, runNftSync, setupScript, teardownScript } from './nft.js';
import { parseAllow, Safety } from './safety.js';

/** How often the map of active blocks is checked for expired elements. */
const EXPIRY_TICK_MS = 500;

export async function startBlocker(ctx: SensorContext): Promise<Component> {
  const { cfg, log } = ctx;
  const mode = cfg.block;
  if (mode === 'off') return component('blocker', async () => {});
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
    episodeGapMs: cfg.scanEpisodeGap,
    apply: on ? (items) => runNft(addScript(items)) : undefined,
  });
  if (on) ctx.stats.set('blocks_active', 0);
  const offs = [
    ctx.bus.on('scan', (ev) => policy.decide(ev)),
    ctx.bus.on('probe', (p) => {
      if (p.kind === 'connect' && p.handshake !== false) policy.onHandshake(p.src);
    }),
    ctx.bus.on('session', (s) => {
      if (s.proto !== 'udp') policy.onHandshake(s.src);
    }),
  ];
  const off = () => offs.forEach((f) => f());
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

  return component(
    'blocker',
    async () => {
      off();
      clearInterval(timer);
      await policy.close();
      process.removeListener('exit', removeSync);
      if (removed) return;
      removed = true;
      try {
        await runNft(teardownScript());
      } catch (err) {
        throw new TidewatchError(
          'TW_ERR_FIREWALL',
          `could not remove table inet tidewatch_block (${(err as Error).message}): remove it with "nft delete table inet tidewatch_block"`,
        );
      }
      policy.active.clear();
      ctx.stats.set('blocks_active', 0);
      log.info('block table removed');
    },
    () => {
      off();
      clearInterval(timer);
      process.removeListener('exit', removeSync);
      removeSync();
    },
  );
}
