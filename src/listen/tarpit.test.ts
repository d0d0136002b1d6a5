import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { createTarpit } from './tarpit.js';
import { loadConfig } from '../config/load.js';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';

function ctxWith(flags: Record<string, string>): SensorContext {
  const cfg = loadConfig({ flags, env: {} });
  return { cfg, bus: new EventBus(), log: createLogger('fatal'), stats: new Stats() };
}

async function server(onSocket: (s: Socket) => void): Promise<{ srv: Server; port: number }> {
  const srv = createServer(onSocket);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { srv, port: (srv.address() as { port: number }).port };
}

test('tarpit feeds held clients a printable byte per interval, bounded, and releases leavers', async () => {
  const ctx = ctxWith({ 'tarpit-interval': '100ms', 'tarpit-max': '2' });
  const tarpit = createTarpit(ctx);
  const results: boolean[] = [];
  const { srv, port } = await server((s) => results.push(tarpit.hold(s)) || s.destroy());
  const clients: Socket[] = [];
  const got: string[] = ['', '', ''];
  for (let i = 0; i < 3; i++) {
    const c = connect(port, '127.0.0.1');
    c.on('data', (d) => (got[i] += d.toString('latin1')));
    c.on('error', () => {});
    clients.push(c);
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await new Promise((r) => setTimeout(r, 650));
    assert.deepEqual(results, [true, true, false], 'third client refused (tarpit full)');
    assert.equal(ctx.stats.get('tarpit_full_total'), 1);
    assert.equal(ctx.stats.get('tarpit_active'), 2);
    for (const i of [0, 1]) {
      assert.ok(got[i]!.length >= 3 && got[i]!.length <= 8, `one byte per interval, got ${got[i]!.length}`);
      assert.match(got[i]!, /^[a-zA-Z0-9 \n]+$/);
      assert.ok(!got[i]!.includes('SSH-'));
    }
    clients[0]!.destroy();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ctx.stats.get('tarpit_active'), 1, 'released when the client left');
    assert.ok(ctx.stats.get('tarpit_bytes_total') >= 6);
    const closed = new Promise((r) => clients[1]!.on('close', r));
    await tarpit.close();
    await closed;
    assert.equal(ctx.stats.get('tarpit_active'), 0);
    assert.equal(tarpit.hold(clients[2]!), false, 'closed tarpit holds nothing');
  } finally {
    clients.forEach((c) => c.destroy());
    tarpit.destroy();
    srv.close();
  }
});

test('tarpit stops reading a client that floods it (bounded memory)', async () => {
  const ctx = ctxWith({ 'tarpit-interval': '1s' });
  const tarpit = createTarpit(ctx);
  let held: Socket | undefined;
  const { srv, port } = await server((s) => {
    held = s;
    tarpit.hold(s);
  });
  const c = connect(port, '127.0.0.1');
  c.on('error', () => {});
  try {
    await new Promise((r) => c.on('connect', r));
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 200 && c.write(chunk); i++);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(held?.isPaused(), 'socket paused after the read cap');
    assert.ok(held!.bytesRead < 4 * 1024 * 1024, `read ${held!.bytesRead} bytes`);
  } finally {
    c.destroy();
    await tarpit.close();
    srv.close();
  }
});
