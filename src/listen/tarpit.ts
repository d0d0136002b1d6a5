// --tarpit: listener sessions are held open and fed one byte every --tarpit-interval (as endlessh does for
// SSH), bounded by --tarpit-max. A client that reads slowly wastes its own time, not our memory: we never
// queue more than a few bytes for it, read at most READ_CAP bytes from it, then stop reading (the kernel
// window closes), and release it when it leaves.
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import type { SensorContext } from '../core/context.js';
import type { Tarpit } from './types.js';

/** Bytes read (and discarded) from a held client before we stop reading from it. */
const READ_CAP = 64 * 1024;
/** A client with this much unsent output is not fed more (it is not reading; do not buffer for it). */
const MAX_QUEUED = 64;
/** Line length at which a newline is fed, like endlessh's default maximum line length of 32. */
const LINE = 32;
// No '-' in the alphabet, so a fed line can never begin with "SSH-" and end the client's banner wait.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';

interface Held {
  socket: Socket;
  col: number;
  read: number;
}

export function createTarpit(ctx: SensorContext): Tarpit {
  const { cfg, stats } = ctx;
  const held = new Map<Socket, Held>();
  let closed = false;
  stats.set('tarpit_active', 0);

  const release = (h: Held) => {
    if (!held.delete(h.socket)) return;
    stats.set('tarpit_active', held.size);
    stats.inc('tarpit_released_total');
    h.socket.destroy();
  };

  const feed = () => {
    for (const h of held.values()) {
      const s = h.socket;
      if (s.destroyed || !s.writable) {
        release(h);
        continue;
      }
      if (s.writableLength > MAX_QUEUED) continue;
      s.write(nextByte(h));
      stats.inc('tarpit_bytes_total');
    }
  };
  const timer = setInterval(feed, Math.max(100, cfg.tarpitInterval));
  timer.unref();
  const stop = (): void => {
    closed = true;
    clearInterval(timer);
    for (const h of [...held.values()]) release(h);
  };

  return {
    hold(socket) {
      if (closed || socket.destroyed) return false;
      if (held.size >= cfg.tarpitMax) {
        stats.inc('tarpit_full_total');
        return false;
      }
      const h: Held = { socket, col: 0, read: 0 };
      held.set(socket, h);
      stats.inc('tarpit_held_total');
      stats.set('tarpit_active', held.size);
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.on('data', (d: Buffer) => {
        h.read += d.length;
        if (h.read >= READ_CAP) socket.pause();
      });
      socket.on('error', () => release(h));
      socket.on('end', () => release(h));
      socket.on('close', () => release(h));
      socket.resume();
      return true;
    },
    async close() {
      stop();
    },
    destroy: stop,
  };
}

/** The next byte of a held client's endless banner: random text, broken into lines of random length. */
function nextByte(h: Held): string {
  if (h.col >= LINE || (h.col > 3 && randomInt(LINE) === 0)) {
    h.col = 0;
    return '\n';
  }
  h.col++;
  return ALPHABET[randomInt(ALPHABET.length)]!;
}
