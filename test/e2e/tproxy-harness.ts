// Runs the tproxy layer alone (transparent sockets + nftables rules) with a session handler that prints
// what it is given as JSON lines on stdout, so tests check the original destination without the rest of
// the sensor. Started inside a test namespace: `node tproxy-harness.js --tproxy-port 39999 ...` (flags as
// the CLI's). Prints {"ready":true} once listening; SIGTERM closes (removing the rules) and exits 0.
import { createServer, type Socket } from 'node:net';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/core/bus.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { startTransparent } from '../../src/listen/transparent.js';
import type { Datagram, SessionHandler } from '../../src/listen/types.js';

const flags: Record<string, string> = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) flags[argv[i]!.replace(/^--/, '')] = argv[i + 1]!;
const cfg = loadConfig({ flags });
const log = createLogger('warn');
const ctx = { cfg, bus: new EventBus(), log, stats: new Stats() };
const out = (o: object): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);

/** Prints each connection with its original destination (the accepted socket's local address). */
function onConnection(socket: Socket): void {
  const orig = { dst: socket.localAddress, dport: socket.localPort };
  const chunks: Buffer[] = [];
  let size = 0;
  const done = (): void => {
    out({
      proto: 'tcp',
      src: socket.remoteAddress,
      sport: socket.remotePort,
      ...orig,
      data: Buffer.concat(chunks).toString('base64'),
    });
  };
  socket.on('data', (d: Buffer) => {
    if (size < 65536) chunks.push(d);
    size += d.length;
    // A reply lets a client that waits for one (nc -q) finish.
    if (size === d.length) socket.write('ok\n');
  });
  socket.on('end', () => {
    done();
    socket.end();
  });
  socket.on('error', () => {});
  socket.setTimeout(3000, () => {
    done();
    socket.destroy();
  });
}

const sessions: SessionHandler = {
  listenTcp(fd: number) {
    const srv = createServer(onConnection).listen({ fd });
    return { close: () => void srv.close() };
  },
  recordUdp(d: Datagram) {
    out({
      proto: 'udp',
      src: d.src,
      sport: d.sport,
      dst: d.dst,
      dport: d.dport,
      bytes: d.bytes,
      data: d.data.toString('base64'),
    });
  },
};

const comp = await startTransparent(ctx, sessions);
out({ ready: true });
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void comp.close().then(() => {
    out({ closed: true, stats: ctx.stats.entries() });
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
