import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllow, Safety } from './safety.js';
import { BlockPolicy, type BlockItem } from './block-sets.js';
import { loadConfig } from '../config/load.js';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import type { BlockEvent, ScanEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';

function setup(opts: { mode?: 'on' | 'dry-run'; max?: number; spoofable?: boolean; fail?: boolean } = {}) {
  const cfg = loadConfig({ flags: {}, env: {} });
  const ctx: SensorContext = { cfg, bus: new EventBus(), log: createLogger('fatal'), stats: new Stats() };
  const blocks: BlockEvent[] = [];
  ctx.bus.on('block', (b) => blocks.push(b));
  const applied: BlockItem[][] = [];
  let now = 1_000_000;
  const safety = new Safety({
    allow: parseAllow(['198.18.7.0/24']),
    sshPort: 22,
    ownAddresses: () => ['198.18.0.1'],
    gateways: () => ['198.18.0.254'],
    tcpTable: () => [],
    ownInodes: () => new Set(),
  });
  const policy = new BlockPolicy(ctx, safety, {
    mode: opts.mode ?? 'on',
    blockForMs: 3000,
    blockSpoofable: opts.spoofable ?? false,
    maxBlocked: opts.max ?? 3,
    apply:
      opts.mode === 'dry-run'
        ? undefined
        : async (items) => {
            if (opts.fail) throw new Error('boom');
            applied.push(items);
          },
    now: () => now,
  });
  return { ctx, policy, blocks, applied, tick: (ms: number) => (now += ms) };
}

let n = 0;
const scan = (src: string, more: Partial<ScanEvent> = {}): ScanEvent => ({
  ts: '',
  sensor: 't',
  type: 'scan',
  id: `e${++n}`,
  state: 'open',
  src,
  kind: 'vertical',
  probe: 'syn',
  ports: 20,
  hosts: 1,
  probes: 20,
  window_s: 300,
  first_seen: '',
  last_seen: new Date(1_000_000).toISOString(),
  handshake_completed: true,
  action: 'logged',
  ...more,
});
const settle = () => new Promise((r) => setTimeout(r, 20));

test('blocks a handshake source once, batches it to nft, expires it', async () => {
  const { ctx, policy, blocks, applied, tick } = setup();
  const a = scan('198.18.0.2');
  policy.decide(a);
  assert.equal(a.action, 'blocked');
  const upd = scan('198.18.0.2', { id: a.id, state: 'update' });
  policy.decide(upd);
  assert.equal(upd.action, 'blocked');
  const b = scan('2001:2::2');
  policy.decide(b);
  await settle();
  assert.equal(applied.length, 1, 'one batch');
  assert.deepEqual(
    applied[0]!.map((i) => [i.ip, i.family, i.timeoutMs]),
    [
      ['198.18.0.2', 4, 3000],
      ['2001:2::2', 6, 3000],
    ],
  );
  assert.deepEqual(
    blocks.map((x) => x.action),
    ['added', 'added'],
  );
  assert.ok(blocks[0]!.until);
  assert.equal(ctx.stats.get('blocks_added_total'), 2);
  assert.equal(ctx.stats.get('blocks_active'), 2);
  tick(3300);
  policy.expire();
  assert.deepEqual(
    blocks.slice(2).map((x) => [x.action, x.src]),
    [
      ['expired', '198.18.0.2'],
      ['expired', '2001:2::2'],
    ],
  );
  assert.equal(ctx.stats.get('blocks_expired_total'), 2);
  assert.equal(ctx.stats.get('blocks_active'), 0);
  const again = scan('198.18.0.2');
  policy.decide(again);
  assert.equal(again.action, 'blocked', 'blocked again after expiry');
});

test('never blocks SYN-only sources unless --block-spoofable; refuses once per episode', () => {
  const { policy, blocks } = setup();
  const s = scan('198.18.0.3', { handshake_completed: false });
  policy.decide(s);
  policy.decide({ ...s, state: 'update' });
  assert.equal(s.action, 'logged');
  assert.deepEqual(
    blocks.map((b) => b.action),
    ['refused'],
  );
  assert.match(blocks[0]!.reason, /spoof/);
  // The same episode completes a handshake later: now it is blocked.
  const later = { ...s, state: 'update' as const, handshake_completed: true };
  policy.decide(later);
  assert.equal(later.action, 'blocked');
  const sp = setup({ spoofable: true });
  const t = scan('198.18.0.3', { handshake_completed: false });
  sp.policy.decide(t);
  assert.equal(t.action, 'blocked');
});

test('safety rules refuse allow-listed, own, gateway, loopback and invalid sources', () => {
  const { policy, blocks, ctx } = setup();
  for (const src of ['198.18.7.9', '198.18.0.1', '198.18.0.254', '127.0.0.1', '::1', 'not-an-ip; drop']) {
    const e = scan(src);
    policy.decide(e);
    assert.equal(e.action, 'logged', src);
  }
  assert.equal(blocks.filter((b) => b.action === 'refused').length, 6);
  assert.equal(ctx.stats.get('blocks_refused_total'), 6);
  assert.equal(policy.active.size, 0);
});

test('the set is bounded by --max-blocked', () => {
  const { policy, blocks } = setup({ max: 3 });
  const evs = ['198.18.1.1', '198.18.1.2', '198.18.1.3', '198.18.1.4'].map((ip) => scan(ip));
  evs.forEach((e) => policy.decide(e));
  assert.deepEqual(
    evs.map((e) => e.action),
    ['blocked', 'blocked', 'blocked', 'logged'],
  );
  assert.match(blocks.find((b) => b.action === 'refused')!.reason, /max-blocked/);
  assert.equal(policy.active.size, 3);
});

test('dry-run records what would be blocked and touches no firewall', async () => {
  const { policy, blocks, applied, ctx } = setup({ mode: 'dry-run' });
  const e = scan('198.18.0.2');
  policy.decide(e);
  policy.decide(scan('198.18.0.2', { id: e.id, state: 'update' }));
  await settle();
  assert.equal(e.action, 'dry-run');
  assert.deepEqual(
    blocks.map((b) => [b.action, b.src]),
    [['dry-run', '198.18.0.2']],
  );
  assert.equal(applied.length, 0);
  assert.equal(ctx.stats.get('blocks_dry_run_total'), 1);
  assert.equal(ctx.stats.get('blocks_added_total'), 0);
});

test('an nft failure turns into refused events and frees the slots', async () => {
  const { policy, blocks, ctx } = setup({ fail: true });
  policy.decide(scan('198.18.0.2'));
  await settle();
  assert.deepEqual(
    blocks.map((b) => b.action),
    ['refused'],
  );
  assert.match(blocks[0]!.reason, /nftables error/);
  assert.equal(policy.active.size, 0);
  assert.equal(ctx.stats.get('blocks_nft_errors_total'), 1);
});

test('episodes the alert budget kept back are judged quietly: blocked and reported, refusals silent', async () => {
  const { policy, blocks, applied, ctx } = setup();
  const spoofed = scan('198.18.0.4', { handshake_completed: false });
  policy.decide(spoofed, false);
  assert.equal(spoofed.action, 'logged');
  assert.equal(blocks.length, 0, 'no refused event for a scan nobody was told about');
  assert.equal(ctx.stats.get('blocks_refused_total'), 0);
  const real = scan('198.18.0.5');
  policy.decide(real, false);
  assert.equal(real.action, 'blocked', 'blocking does not wait for the alert budget');
  await settle();
  assert.deepEqual(
    blocks.map((b) => [b.action, b.src]),
    [['added', '198.18.0.5']],
  );
  assert.equal(applied[0]![0]!.ip, '198.18.0.5');
  // Reported later, the same refused episode gets its one refused event.
  policy.decide({ ...spoofed, state: 'update' });
  assert.deepEqual(
    blocks.map((b) => b.action),
    ['added', 'refused'],
  );
});
