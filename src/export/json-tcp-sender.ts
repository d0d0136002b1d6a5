// Sends what a DiskSpool holds to one TCP collector, in order, chunk by chunk; a chunk leaves the spool
// only once the socket took it. The connection reconnects with exponential backoff and jitter.
import { connect, type Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/log.js';
import type { Stats } from '../core/stats.js';
import type { DiskSpool } from './spool.js';

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;
/** Bytes handed to the socket per write: whole lines, small enough to keep memory flat. */
const CHUNK_BYTES = 256 << 10;

const write = (s: Socket, data: Buffer): Promise<void> =>
  new Promise((resolve, reject) => {
    s.write(data, (err) => (err ? reject(err) : resolve()));
  });

export class JsonTcpSender {
  private sock: Socket | undefined;
  private pumping = false;
  private closed = false;
  private backoff = BACKOFF_MIN_MS;
  private retry: NodeJS.Timeout | undefined;
  private readonly limited: RateLimitedLog;
  /** True while a collector is connected and lines go out. */
  connected = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly spool: DiskSpool,
    private readonly log: Logger,
    private readonly stats: Stats,
  ) {
    this.limited = new RateLimitedLog(log);
  }

  open(): void {
    if (this.closed || this.sock) return;
    const { host, port } = this;
    const s = connect({ host, port });
    this.sock = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.on('connect', () => {
      // A collector port in the ephemeral range on this host, nobody listening: the kernel may connect
      // the socket to itself (TCP simultaneous open). Lines "sent" there would be lost; it also holds the
      // port the collector wants to bind. Treat it as a refused connection.
      if (s.localPort === s.remotePort && s.localAddress === s.remoteAddress) {
        this.stats.inc('json_tcp_self_connects_total');
        this.dropSocket(s, 'connected to itself: no collector listens');
        return;
      }
      this.connected = true;
      this.backoff = BACKOFF_MIN_MS;
      this.log.info({ host, port }, 'collector connected');
      void this.pump();
    });
    // The collector never talks back; a FIN from it means it is going away: stop writing at once so
    // lines are not written into a dying connection.
    s.on('data', () => {});
    s.on('end', () => this.dropSocket(s, 'closed by the collector'));
    s.on('error', (err) => {
      this.limited.error('json-tcp', { err: err.message, host, port }, 'collector unreachable');
      this.dropSocket(s, err.message);
    });
    s.on('close', () => this.dropSocket(s, 'closed'));
  }

  /** Sends what the spool holds, chunk by chunk, committing each chunk once the socket took it. */
  async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.connected && this.sock) {
        const s = this.sock;
        const chunk = await this.spool.read(CHUNK_BYTES);
        if (!chunk) break;
        if (!this.connected || this.sock !== s) break;
        try {
          await write(s, chunk);
        } catch {
          break; // 'error' handler reconnects; the chunk stays in the spool
        }
        await this.spool.commit(chunk.length);
        this.stats.inc('json_tcp_bytes_total', chunk.length);
      }
    } finally {
      this.pumping = false;
    }
    if (this.spool.lastError) {
      this.limited.error('json-tcp-spool', { err: this.spool.lastError.message }, 'spool disk error');
      this.spool.lastError = undefined;
    }
  }

  /** Stops reconnecting, then ends the connection (waiting up to 1 s for the collector to take the rest). */
  async end(): Promise<void> {
    this.stop();
    const s = this.sock;
    this.sock = undefined;
    this.connected = false;
    if (s)
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000);
        s.end(() => {
          clearTimeout(t);
          r();
        });
      });
    s?.destroy();
  }

  destroy(): void {
    this.stop();
    this.sock?.destroy();
  }

  private stop(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }

  private dropSocket(s: Socket, why: string): void {
    if (this.sock !== s) return;
    this.sock = undefined;
    if (this.connected) this.log.warn({ why }, 'collector connection lost; spooling');
    this.connected = false;
    s.destroy();
    this.stats.inc('json_tcp_disconnects_total');
    this.scheduleConnect();
  }

  private scheduleConnect(): void {
    if (this.closed || this.retry) return;
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.open();
    }, delay);
    this.retry.unref();
  }
}
