// The transparent TCP listener of one address family for tproxy mode: creates the IP(V6)_TRANSPARENT socket
// with the addon, hands its fd to a net.Server, and passes each accepted connection on with its original
// destination (the accepted socket's local address). Out of file descriptors, it pauses and comes back.
import { createServer, type Server, type Socket } from 'node:net';
import type { SensorContext } from '../core/context.js';
import { TidewatchError } from '../core/errors.js';
import { RateLimitedLog } from '../core/log.js';
import { closeFd, setBacklog, transparentTcpListen, type Family } from './transparent-addon.js';
import type { OrigDst } from './types.js';
import { plainAddress } from './tcp-session.js';

/**
 * Listen backlog of the one TCP socket that takes every port (capped by net.core.somaxconn, 4096 by
 * default): larger than Node's 511 because a burst across all ports lands on this single queue.
 */
const BACKLOG = 4096;
/** Accept pauses after EMFILE grow from 100 ms to 5 s (as in ports mode). */
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

const ANY: Record<Family, string> = { 4: '0.0.0.0', 6: '::' };

export interface TransparentTcp {
  /** Stops accepting (open connections are the session handler's). Idempotent. */
  close(): void;
}

/**
 * Opens the listener; throws TidewatchError('TW_ERR_LISTEN') when the socket cannot be made (the message
 * names the fix). `accept` gets every connection with its original destination.
 */
export async function startTransparentTcp(
  ctx: SensorContext,
  family: Family,
  port: number,
  accept: (socket: Socket, orig: OrigDst) => void,
): Promise<TransparentTcp> {
  const { stats } = ctx;
  const rlog = new RateLimitedLog(ctx.log);
  let server: Server | undefined;
  let closed = false;
  let delay = BACKOFF_MIN_MS;
  let lastFail = 0;
  let timer: NodeJS.Timeout | undefined;

  const onConnection = (socket: Socket): void => {
    const dst = plainAddress(socket.localAddress);
    const dport = socket.localPort ?? 0;
    if (!dst || !dport) {
      // The peer already left (the socket has no address any more): nothing to record.
      stats.inc('tproxy_tcp_no_origdst_total');
      socket.destroy();
      return;
    }
    try {
      accept(socket, { dst, dport });
    } catch (err) {
      rlog.error('accept', { err }, 'session handler failed on a TCP connection');
      socket.destroy();
    }
  };

  // EMFILE/ENFILE at accept: libuv first sheds with its reserve descriptor; when it reports the error, it
  // would wake up for the same connection again and again. Close the listener for a while (TPROXY then
  // finds no transparent socket and the kernel refuses new connections: shed) and open it again.
  const onError = (srv: Server, err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EMFILE' && err.code !== 'ENFILE') {
      stats.inc('listener_accept_errors_total');
      rlog.error(`accept:${err.code}`, { family, code: err.code }, 'transparent TCP accept failed');
      return;
    }
    stats.inc('listener_emfile_total');
    if (server !== srv) return; // already paused
    server = undefined;
    srv.close();
    const now = Date.now();
    delay = now - lastFail < 10_000 ? Math.min(delay * 2, BACKOFF_MAX_MS) : BACKOFF_MIN_MS;
    lastFail = now;
    rlog.error(
      'emfile',
      { code: err.code, family, pauseMs: delay },
      'out of file descriptors: transparent TCP accepting paused, new connections shed (counted in ' +
        'listener_emfile_total); lower --max-sessions or raise the open-file limit',
    );
    const retry = (): void => {
      timer = undefined;
      if (closed) return;
      open().catch((e: unknown) => {
        stats.inc('listener_emfile_total');
        if (!closed) timer = setTimeout(retry, delay);
        rlog.error('reopen', { err: e }, 'transparent TCP socket not reopened yet');
      });
    };
    timer = setTimeout(retry, delay);
  };

  const open = async (): Promise<void> => {
    const fd = transparentTcpListen(family, ANY[family], port, BACKLOG);
    const srv = createServer({ pauseOnConnect: false }, onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ fd }, () => {
          srv.off('error', reject);
          // Node called listen(fd, 511) again and ignores a backlog given with an fd: set ours back.
          setBacklog(fd, BACKLOG);
          resolve();
        });
      });
    } catch (err) {
      closeFd(fd);
      throw new TidewatchError(
        'TW_ERR_LISTEN',
        `tproxy: cannot take the transparent TCP socket: ${String(err)}`,
      );
    }
    srv.on('error', (err: NodeJS.ErrnoException) => onError(srv, err));
    if (closed) srv.close();
    else server = srv;
  };

  await open();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      server?.close();
      server = undefined;
    },
  };
}
