// nftables block sets with timeouts (--block) and the tarpit (--tarpit).
// TODO(owner): entry point wired by sensor.ts; the body is filled in by the work stream that owns this folder.
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';

export async function startBlocker(_ctx: SensorContext): Promise<Component> {
  return component('blocker', async () => {});
}
