// Block policy: decides synchronously for each scan event whether its source is blocked (the event's action
// is final before any sink writes it), keeps the bounded map of active blocks and their expiry, and hands the
// nftables work to a batched queue so the event loop never waits for nft. The detector hands it every episode
// event, also those the alert budget keeps back, and re-judges an episode at once when it gains handshake
// evidence: handshake_completed follows one rule (--handshake-window, docs/detection.md) for both.
import type { SensorContext } from '../core/context.js';
import { type BlockEvent, nowIso, type ScanEvent } from '../core/events.js';
import { RateLimitedLog } from '../core/log.js';
import { canonicalAddr, type Safety } from './safety.js';

export interface BlockItem {
  ip: string;
  family: 4 | 6;
  timeoutMs: number;
}

export interface PolicyOptions {
  mode: 'dry-run' | 'on';
  blockForMs: number;
  blockSpoofable: boolean;
  maxBlocked: number;
  /** Applies a batch to the kernel (nft); absent in dry-run. */
  apply?: (items: BlockItem[]) => Promise<void>;
  now?: () => number;
}

/** Episodes whose refusal we remember, so one episode's updates do not repeat the same refused event. */
const MAX_REMEMBERED_EPISODES = 4096;
/** Our expiry is this much after the kernel's, so the kernel element is surely gone when we forget it. */
const KERNEL_MARGIN_MS = 250;

export class BlockPolicy {
  /** src → expiry (ms since epoch): blocks in the kernel set (or would-be blocks in dry-run). */
  readonly active = new Map<string, number>();
  private readonly refusedFor = new Map<string, string>();
  private pending: (BlockItem & { reason: string; until: number })[] = [];
  private flushing: Promise<void> | undefined;
  private readonly errors: RateLimitedLog;
  private closed = false;

  constructor(
    private readonly ctx: SensorContext,
    private readonly safety: Safety,
    private readonly opt: PolicyOptions,
  ) {
    this.errors = new RateLimitedLog(ctx.log);
  }

  private now(): number {
    return this.opt.now?.() ?? Date.now();
  }

  private emit(action: BlockEvent['action'], src: string, reason: string, until?: number): void {
    const ev: BlockEvent = {
      ts: nowIso(this.now()),
      sensor: this.ctx.cfg.sensor,
      type: 'block',
      action,
      src,
      reason,
    };
    if (until !== undefined) ev.until = nowIso(until);
    // Blocking changes the host's firewall, so each change is also an operational log line.
    this.ctx.log[action === 'refused' ? 'debug' : 'info'](
      { src, until: ev.until, reason },
      `block ${action}`,
    );
    this.ctx.bus.emit(ev);
  }

  private refuse(ev: ScanEvent, src: string, reason: string, reported: boolean): void {
    ev.action = 'logged';
    // A refusal is news only beside a reported scan: the episodes the alert budget keeps back stay quiet.
    if (!reported || this.refusedFor.get(ev.id) === reason) return;
    this.refusedFor.delete(ev.id);
    this.refusedFor.set(ev.id, reason);
    if (this.refusedFor.size > MAX_REMEMBERED_EPISODES)
      this.refusedFor.delete(this.refusedFor.keys().next().value!);
    this.ctx.stats.inc('blocks_refused_total');
    this.emit('refused', src, reason);
  }

  /**
   * Called synchronously by the scan detector for each episode event before it is emitted (`reported`), or
   * instead of emitting it (kept back by the alert budget): sets ev.action before the sinks see the event.
   */
  decide(ev: ScanEvent, reported = true): void {
    const now = this.now();
    const dry = this.opt.mode === 'dry-run';
    const addr = canonicalAddr(ev.src);
    if (!addr) return this.refuse(ev, String(ev.src).slice(0, 64), 'not a valid IP address', reported);
    const until = this.active.get(addr.ip);
    if (until !== undefined && until > now) {
      ev.action = dry ? 'dry-run' : 'blocked';
      return;
    }
    if (ev.state === 'closed' || this.closed) {
      ev.action = 'logged';
      return;
    }
    if (!ev.handshake_completed && !this.opt.blockSpoofable) {
      const why =
        'no completed handshake within --handshake-window (possibly spoofed); see --block-spoofable';
      return this.refuse(ev, addr.ip, why, reported);
    }
    const unsafe = this.safety.check(addr, now);
    if (unsafe) return this.refuse(ev, addr.ip, `never blocked: ${unsafe}`, reported);
    this.expire(now);
    if (this.active.size >= this.opt.maxBlocked)
      return this.refuse(ev, addr.ip, `block set full (--max-blocked ${this.opt.maxBlocked})`, reported);

    const end = now + this.opt.blockForMs;
    const reason = `${ev.kind} scan, probe ${ev.probe}${ev.tool ? `, tool ${ev.tool}` : ''}`;
    this.active.set(addr.ip, end);
    this.refusedFor.delete(ev.id);
    if (dry) {
      ev.action = 'dry-run';
      this.ctx.stats.inc('blocks_dry_run_total');
      this.emit('dry-run', addr.ip, reason, end);
      return;
    }
    ev.action = 'blocked';
    this.ctx.stats.set('blocks_active', this.active.size);
    this.pending.push({ ...addr, timeoutMs: this.opt.blockForMs, reason, until: end });
    this.schedule();
  }

  /** Forgets blocks whose element timeout passed (the kernel drops them by itself) and reports them. */
  expire(now = this.now()): void {
    for (const [ip, until] of this.active) {
      if (until > now) continue;
      this.active.delete(ip);
      if (this.opt.mode === 'on') {
        this.ctx.stats.inc('blocks_expired_total');
        this.emit('expired', ip, 'block time over (--block-for)', until);
      }
    }
    if (this.opt.mode === 'on') this.ctx.stats.set('blocks_active', this.active.size);
  }

  private schedule(): void {
    if (this.flushing || !this.opt.apply) return;
    this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
  }

  /** Sends everything queued as one nft transaction; emits added (or refused on failure) afterwards. */
  private async flush(): Promise<void> {
    while (this.pending.length && !this.closed) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.opt.apply!(batch);
        // The kernel's timeout started just now; our view must not end before the kernel's, or a re-add
        // would find the old element still there (add is then a no-op and the new timeout is lost).
        const until = this.now() + this.opt.blockForMs + KERNEL_MARGIN_MS;
        for (const b of batch) {
          if (this.active.has(b.ip)) this.active.set(b.ip, until);
          this.ctx.stats.inc('blocks_added_total');
          this.emit('added', b.ip, b.reason, until);
        }
      } catch (err) {
        this.ctx.stats.inc('blocks_nft_errors_total', batch.length);
        this.errors.error('nft', { err }, 'adding blocks failed');
        for (const b of batch) {
          this.active.delete(b.ip);
          this.emit('refused', b.ip, `nftables error: ${(err as Error).message.slice(0, 200)}`);
        }
        this.ctx.stats.set('blocks_active', this.active.size);
      }
    }
    this.flushing = undefined;
  }

  /** Waits for queued nft work and stops accepting new blocks. */
  async close(): Promise<void> {
    await this.flushing;
    this.closed = true;
    this.pending = [];
  }
}
