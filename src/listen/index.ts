// Accepts TCP/TLS/UDP sessions on every configured port (ports or tproxy mode) and emits session and
// probe(connect) events. The session handling (caps, timeouts, TLS, close) is the same in both modes.
import { createSecureContext } from 'node:tls';
import type { SensorContext } from '../core/context.js';
import { component, type Component } from '../core/lifecycle.js';
import { createResponder } from '../respond/index.js';
import { PERSONA_MODULES } from '../respond/personas.js';
import { UdpResponder } from '../respond/udp.js';
import { createTarpit } from './tarpit.js';
import { startPorts } from './ports.js';
import { Sessions } from './sessions.js';
import { honeypotTlsOptions, loadOrCreateCertificate } from './tls/certificate.js';
import { HandshakeBudget } from './tls/handshake-budget.js';
import { startTransparent } from './transparent.js';

export async function startListener(ctx: SensorContext): Promise<Component> {
  const { cfg } = ctx;
  if (cfg.listen === 'off') return component('listener', async () => {});
  const secureContext =
    cfg.tls === 'on'
      ? createSecureContext(honeypotTlsOptions(await loadOrCreateCertificate(cfg, ctx.log)))
      : undefined;
  const tarpit = cfg.tarpit ? createTarpit(ctx) : undefined;
  const handshakes = new HandshakeBudget(cfg.tlsHandshakeRate, cfg.tlsHandshakeRateSource);
  const responder = cfg.respond === 'on' ? createResponder(ctx, await PERSONA_MODULES(ctx)) : undefined;
  const udpResponder = cfg.respondUdp === 'on' ? new UdpResponder(ctx) : undefined;
  const sessions = new Sessions(ctx, { secureContext, handshakes, tarpit, responder, udpResponder });
  let sockets: Component;
  try {
    sockets =
      cfg.listen === 'tproxy' ? await startTransparent(ctx, sessions) : await startPorts(ctx, sessions);
  } catch (err) {
    sessions.close();
    await tarpit?.close();
    throw err;
  }
  return component(
    'listener',
    async () => {
      // Stop taking connections first, then write what is still open as close "shutdown".
      await sockets.close();
      sessions.close();
      await tarpit?.close();
    },
    () => {
      sockets.destroy();
      sessions.close();
      tarpit?.destroy();
    },
  );
}
