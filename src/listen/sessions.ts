// Session handling shared by both listen modes: caps on open sessions, idle and total timeouts, the close
// (RST by default, FIN under --fin, or the tarpit), one session event per TCP connection or UDP datagram,
// and a probe event at accept so detectors see completed handshakes. Open sessions are written with
// close "shutdown" when the listener closes.
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { SensorContext } from '../core/context.js';
import type { CloseReason, SessionEvent } from '../core/events.js';
import { RateLimitedLog } from '../core/log.js';
import { readFdLimit } from './fd-limit.js';
import { TcpSession, iso, plainAddress, type SessionOwner } from './tcp-session.js';
import type { Datagram, OrigDst, SessionHandler, Tarpit } from './types.js';

export interface SessionsOptions {
  secureContext?: SecureContext | undefined;
  tarpit?: Tarpit | undefined;
}

/** How long a FIN-closed socket may wait for the client's FIN before it is destroyed. */
const FIN_GRACE_MS = 2000;

export class Sessions implements SessionHandler, SessionOwner {
  readonly bufsize: number;
  readonly secureContext: SecureContext | undefined;
  private readonly open = new Set<TcpSession>();
  private readonly sweeper: NodeJS.Timeout;
  private capacity: number;
  private closed = false;
  private readonly shedLog: RateLimitedLog;
  private fdBase = 0;
  private fdReserve = 0;
  private fdLimit = 0;

  constructor(
    private readonly ctx: SensorContext,
    private readonly opts: SessionsOptions = {},
  ) {
    this.bufsize = ctx.cfg.bufsize;
    this.shedLog = new RateLimitedLog(ctx.log);
    this.secureContext = opts.secureContext;
    this.capacity = ctx.cfg.maxSessions;
    // One sweep for all sessions instead of two timers per socket: keeps idle connections cheap.
    const step = Math.max(50, Math.min(1000, Math.min(ctx.cfg.idleTimeout, ctx.cfg.maxSession) / 4));
    this.sweeper = setInterval(() => this.sweep(), step).unref();
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Fits the cap on open sessions to the open-file limit: `base` descriptors are held by everything else
   * (listening sockets, files), `reserve` are kept free. Re-checked at every sweep, so a limit lowered at
   * run time (prlimit) makes the listener shed, counted, before accept() could run out of descriptors.
   */
  fitFds(base: number, reserve: number): void {
    this.fdBase = base;
    this.fdReserve = reserve;
    this.refit(true);
  }

  private refit(initial = false): void {
    if (!this.fdBase) return;
    const { soft } = readFdLimit();
    if (soft === this.fdLimit) return;
    this.fdLimit = soft;
    const cap = Math.max(1, Math.min(this.ctx.cfg.maxSessions, soft - this.fdBase - this.fdReserve));
    if (cap === this.capacity) return;
    this.capacity = cap;
    if (!initial)
      this.ctx.log.warn(
        { maxSessions: cap, fdLimit: soft },
        'open-file limit changed: open sessions capped anew',
      );
  }

  get limitValue(): number {
    return this.capacity;
  }

  acceptTcp(socket: Socket, orig: OrigDst): void {
    const src = plainAddress(socket.remoteAddress);
    const sport = socket.remotePort ?? 0;
    if (!src || this.closed) {
      // Reset while still in the accept queue (nmap -sT does this): the kernel no longer knows the peer
      // (getpeername fails), so there is nothing to record; counted so the loss is visible. Capture, when
      // on, still sees the handshake's packets.
      if (!src) this.ctx.stats.inc('listener_reset_before_accept_total');
      socket.on('error', noop);
      return void socket.destroy();
    }
    const dst = plainAddress(orig.dst);
    if (this.ctx.bus.hasListeners('probe'))
      this.ctx.bus.emit({
        type: 'probe',
        time: Date.now(),
        via: 'listener',
        proto: 'tcp',
        kind: 'connect',
        src,
        dst,
        sport,
        dport: orig.dport,
        handshake: true,
      });
    if (this.open.size >= this.capacity) {
      this.ctx.stats.inc('listener_shed_total');
      if (this.shedLog.allow('shed'))
        this.ctx.log.warn(
          {
            open: this.open.size,
            maxSessions: this.capacity,
            shed: this.ctx.stats.get('listener_shed_total'),
          },
          'at --max-sessions: new connections closed at once (counted in listener_shed_total)',
        );
      socket.on('error', noop); // an RST racing ours must not crash the process
      return reset(socket);
    }
    this.ctx.stats.inc('listener_sessions_total');
    this.open.add(new TcpSession(this, socket, src, sport, dst, orig.dport));
  }

  recordUdp(d: Datagram): void {
    if (this.closed) return;
    const src = plainAddress(d.src);
    const dst = plainAddress(d.dst);
    if (this.ctx.bus.hasListeners('probe'))
      this.ctx.bus.emit({
        type: 'probe',
        time: d.time,
        via: 'listener',
        proto: 'udp',
        kind: 'udp',
        src,
        dst,
        sport: d.sport,
        dport: d.dport,
      });
    const keep = d.data.length > this.bufsize ? d.data.subarray(0, this.bufsize) : d.data;
    const ts = iso(d.time);
    const truncated = d.bytes > keep.length;
    this.ctx.stats.inc('listener_datagrams_total');
    const ev: SessionEvent = {
      type: 'session',
      ts,
      sensor: this.ctx.cfg.sensor,
      proto: 'udp',
      src,
      sport: d.sport,
      dst,
      dport: d.dport,
      started: ts,
      ended: ts,
      bytes: d.bytes,
      truncated,
      // A datagram is whole when it arrives: "fin" unless --bufsize cut it ("cap").
      close: truncated ? 'cap' : 'fin',
      payloads: keep.length ? [{ index: 0, timestamp: ts, data: keep.toString('base64') }] : [],
    };
    this.ctx.bus.emit(ev);
  }

  /** Called by a session when it ends (once; later calls are ignored). */
  ended(s: TcpSession, reason: CloseReason): void {
    if (s.done) return;
    s.done = true;
    this.open.delete(s);
    s.detach();
    try {
      this.ctx.bus.emit(s.toEvent(this.ctx.cfg.sensor, reason));
    } finally {
      this.release(s, reason);
    }
  }

  private release(s: TcpSession, reason: CloseReason): void {
    const sock = s.app;
    if (sock.destroyed && s.socket.destroyed) return;
    const tarpit = this.opts.tarpit;
    if (tarpit && (reason === 'cap' || reason === 'timeout') && !this.closed) {
      sock.removeAllListeners('data');
      sock.removeAllListeners('end');
      sock.removeAllListeners('close');
      if (tarpit.hold(sock)) return;
    }
    // Our handlers are detached from the session; keep one that swallows late errors (RST after close).
    s.socket.on('error', noop);
    if (sock !== s.socket) sock.on('error', noop);
    if (this.ctx.cfg.fin && reason !== 'shutdown' && reason !== 'error' && reason !== 'rst') {
      // FIN: keep reading (and dropping) so unread bytes do not turn the close into an RST, and give the
      // client a moment to answer with its own FIN.
      sock.removeAllListeners('data');
      sock.on('data', noop);
      sock.end();
      if (sock !== s.socket) s.socket.end();
      setTimeout(() => {
        s.socket.destroy();
        sock.destroy();
      }, FIN_GRACE_MS).unref();
      return;
    }
    reset(s.socket, sock);
  }

  private sweep(): void {
    this.refit();
    const now = Date.now();
    const idle = this.ctx.cfg.idleTimeout;
    const total = this.ctx.cfg.maxSession;
    for (const s of this.open) if (now - s.last >= idle || now - s.started >= total) this.ended(s, 'timeout');
  }

  /** Writes every open session with close "shutdown" and closes its socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const open = [...this.open];
    for (const s of open) this.ended(s, 'shutdown');
    const st = this.ctx.stats;
    this.ctx.log.info(
      {
        shutdown: open.length,
        sessions: st.get('listener_sessions_total'),
        datagrams: st.get('listener_datagrams_total'),
        shed: st.get('listener_shed_total'),
        emfile: st.get('listener_emfile_total'),
      },
      'listener closed',
    );
  }
}

function noop(): void {}

/** Closes with RST (no TIME_WAIT left behind, and what scanners expect from a closed port). */
function reset(raw: Socket, app: Socket = raw): void {
  // The TCP socket first: destroying a TLSSocket first marks the TCP socket destroyed without closing its
  // descriptor, and the connection would stay open.
  try {
    if (!raw.destroyed) raw.resetAndDestroy();
  } catch {
    raw.destroy();
  }
  if (app !== raw) app.destroy();
}
