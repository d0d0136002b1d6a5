// Session handling shared by both listen modes: caps on open sessions, idle and total timeouts, the close
// (RST by default, FIN under --fin, or the tarpit), one session event per TCP connection or UDP datagram,
// and a probe event at accept so detectors see completed handshakes. Open sessions are written with
// close "shutdown" when the listener closes.
// Plain TCP runs in the native engine (tcp-engine.ts): accept, first bytes, timeouts and close in C, the
// records decoded here. A connection whose first byte starts a TLS record is handed over to a net.Socket
// and a TcpSession (node:tls completes the handshake); those are the sessions this file times out itself.
import { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { plainAddress } from '../core/addresses.js';
import type { SensorContext } from '../core/context.js';
import type { CloseReason } from '../core/events.js';
import { RateLimitedLog } from '../core/log.js';
import { payloadEntries, sessionEvent } from '../core/session-event.js';
import type { Responder } from '../respond/index.js';
import type { UdpResponder } from '../respond/udp.js';
import { readFdLimit } from './fd-limit.js';
import { startTcpEngine, type EngineCounters, type EngineRecord, type TcpEngine } from './tcp-engine.js';
import { TcpSession, type SessionOwner } from './tcp-session.js';
import type { HandshakeBudget } from './tls/handshake-budget.js';
import type { Datagram, SessionHandler, Tarpit } from './types.js';

export interface SessionsOptions {
  secureContext?: SecureContext | undefined;
  handshakes?: HandshakeBudget | undefined;
  tarpit?: Tarpit | undefined;
  /** --respond on: personas answer; the engine hands over their ports and first bytes. */
  responder?: Responder | undefined;
  /** --respond-udp on: DNS, SIP and SSDP replies (ports mode). */
  udpResponder?: UdpResponder | undefined;
}

/** How long a FIN-closed socket may wait for the client's FIN before it is destroyed. */
const FIN_GRACE_MS = 2000;

/** Engine counters mirrored into the shared stats (the rest are counted from records as they come). */
const MIRRORED: [keyof EngineCounters, string][] = [
  ['emfile', 'listener_emfile_total'],
  ['resetBeforeAccept', 'listener_reset_before_accept_total'],
  ['acceptErrors', 'listener_accept_errors_total'],
  ['noOrigDst', 'tproxy_tcp_no_origdst_total'],
  ['undelivered', 'listener_undelivered_fds_total'],
];

export class Sessions implements SessionHandler, SessionOwner {
  readonly bufsize: number;
  readonly secureContext: SecureContext | undefined;
  readonly responder: Responder | undefined;
  /** Sessions JS holds: TLS connections handed over by the engine. */
  private readonly open = new Set<TcpSession>();
  private readonly engine: TcpEngine;
  private readonly sweeper: NodeJS.Timeout;
  private capacity: number;
  private closed = false;
  private readonly shedLog: RateLimitedLog;
  private fdBase = 0;
  private fdReserve = 0;
  private fdLimit = 0;
  private readonly mirrored = new Map<string, number>();

  constructor(
    private readonly ctx: SensorContext,
    private readonly opts: SessionsOptions = {},
  ) {
    const { cfg } = ctx;
    this.bufsize = cfg.bufsize;
    this.shedLog = new RateLimitedLog(ctx.log);
    this.secureContext = opts.secureContext;
    this.responder = opts.responder;
    this.capacity = cfg.maxSessions;
    this.engine = startTcpEngine(
      {
        bufsize: cfg.bufsize,
        idleMs: cfg.idleTimeout,
        maxSessionMs: cfg.maxSession,
        capacity: cfg.maxSessions,
        fin: cfg.fin,
        finGraceMs: FIN_GRACE_MS,
        handoffTls: !!opts.secureContext,
        keepForTarpit: !!opts.tarpit,
        handoffPrefixes: opts.responder?.handoffPrefixes,
        bannerPorts: opts.responder?.bannerPorts,
      },
      (r) => this.onRecord(r),
      (err) => this.recordError(err),
    );
    // One sweep for all JS-held sessions instead of two timers per socket: keeps idle connections cheap.
    const step = Math.max(50, Math.min(1000, Math.min(cfg.idleTimeout, cfg.maxSession) / 4));
    this.sweeper = setInterval(() => this.sweep(), step).unref();
  }

  /** Open sessions, in the engine and in JS. */
  get size(): number {
    return this.open.size + this.engine.counters().open;
  }

  /** The engine takes this listening socket (and closes it when the returned handle is closed). */
  listenTcp(fd: number): { close(): void } {
    return this.engine.listen(fd);
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
    this.engine.setCapacity(cap);
    if (!initial)
      this.ctx.log.warn(
        { maxSessions: cap, fdLimit: soft },
        'open-file limit changed: open sessions capped anew',
      );
  }

  get limitValue(): number {
    return this.capacity;
  }

  /** One engine record; what it throws goes to recordError (tcp-engine.ts catches per record). */
  private onRecord(r: EngineRecord): void {
    switch (r.kind) {
      case 'accept':
        this.ctx.stats.inc('listener_sessions_total');
        return this.probe('tcp', r, r.started);
      case 'shed':
        this.probe('tcp', r, r.started);
        return this.shed();
      case 'end':
        return this.endRecord(r);
      case 'handoff':
        return this.adopt(r);
    }
  }

  /** A record the engine could not have handled: counted and logged, never thrown into the engine. */
  private recordError(err: unknown): void {
    this.ctx.stats.inc('listener_record_errors_total');
    if (this.shedLog.allow('record'))
      this.ctx.log.error({ err }, 'a TCP session record could not be handled');
  }

  /** The probe event of an accepted connection (a completed handshake) or of a datagram. */
  private probe(
    proto: 'tcp' | 'udp',
    r: { src: string; dst: string; sport: number; dport: number },
    time: number,
  ): void {
    if (!this.ctx.bus.hasListeners('probe')) return;
    const tcp = proto === 'tcp';
    this.ctx.bus.emit({
      type: 'probe',
      time,
      via: 'listener',
      proto,
      kind: tcp ? 'connect' : 'udp',
      src: r.src,
      dst: r.dst,
      sport: r.sport,
      dport: r.dport,
      ...(tcp ? { handshake: true } : {}),
    });
  }

  private shed(): void {
    this.ctx.stats.inc('listener_shed_total');
    if (this.shedLog.allow('shed'))
      this.ctx.log.warn(
        {
          open: this.size,
          maxSessions: this.capacity,
          shed: this.ctx.stats.get('listener_shed_total'),
        },
        'at --max-sessions: new connections closed at once (counted in listener_shed_total)',
      );
  }

  /** A session the engine ended: its record, then (tarpit) the kept connection. */
  private endRecord(r: EngineRecord): void {
    const ev = sessionEvent(this.ctx.cfg.sensor, {
      proto: 'tcp',
      src: r.src,
      sport: r.sport,
      dst: r.dst,
      dport: r.dport,
      started: r.started,
      ended: r.ended,
      bytes: r.bytes,
      truncated: r.truncated,
      close: r.close,
      payloads: r.chunks,
    });
    try {
      this.ctx.bus.emit(ev);
    } finally {
      if (r.fd >= 0) this.toTarpit(r.fd);
    }
  }

  private toTarpit(fd: number): void {
    const sock = new Socket({ fd, readable: true, writable: true });
    sock.on('error', noop);
    if (this.closed || !this.opts.tarpit?.hold(sock)) reset(sock);
  }

  /**
   * A connection JS takes over: its first bytes began TLS or a protocol a persona speaks, or (no bytes yet)
   * its port's persona speaks first. A net.Socket over its descriptor and a TcpSession.
   */
  private adopt(r: EngineRecord): void {
    const sock = new Socket({ fd: r.fd, readable: true, writable: true });
    if (this.closed) {
      sock.on('error', noop);
      return reset(sock);
    }
    const s = new TcpSession(this, sock, r.src, r.sport, r.dst, r.dport, r.started);
    this.open.add(s);
    this.engine.setExternal(this.open.size);
    const first = this.responder && !r.chunks.length ? this.responder.serverFirst(r.dport) : undefined;
    if (first) s.startPersona(first);
    for (const c of r.chunks) s.onRaw(Buffer.from(c.data), c.time);
  }

  recordUdp(d: Datagram): void {
    if (this.closed) return;
    const src = plainAddress(d.src);
    const dst = plainAddress(d.dst);
    this.probe('udp', { src, dst, sport: d.sport, dport: d.dport }, d.time);
    const keep = d.data.length > this.bufsize ? d.data.subarray(0, this.bufsize) : d.data;
    const truncated = d.bytes > keep.length;
    this.ctx.stats.inc('listener_datagrams_total');
    const ev = sessionEvent(this.ctx.cfg.sensor, {
      proto: 'udp',
      src,
      sport: d.sport,
      dst,
      dport: d.dport,
      started: d.time,
      ended: d.time,
      bytes: d.bytes,
      truncated,
      // A datagram is whole when it arrives: "fin" unless --bufsize cut it ("cap").
      close: truncated ? 'cap' : 'fin',
      payloads: keep.length ? [{ time: d.time, data: keep }] : [],
    });
    // Only whole datagrams are answered: a reply must never be larger than what came.
    const reply =
      d.reply && !truncated ? this.opts.udpResponder?.reply(d.data, src, d.dport, dst) : undefined;
    if (reply) {
      d.reply!(reply);
      ev.sent = payloadEntries([{ time: Date.now(), data: reply }]);
    }
    this.ctx.bus.emit(ev);
  }

  admitHandshake(src: string): boolean {
    if (this.opts.handshakes?.admit(src) !== false) return true;
    this.ctx.stats.inc('listener_tls_over_budget_total');
    return false;
  }

  /** Called by a session when it ends (once; later calls are ignored). */
  ended(s: TcpSession, reason: CloseReason): void {
    if (s.done) return;
    s.done = true;
    this.open.delete(s);
    if (!this.closed) this.engine.setExternal(this.open.size);
    s.detach();
    s.persona?.close();
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
    // A persona's session closes with FIN too: an RST could discard the answer it just wrote.
    const fin = this.ctx.cfg.fin || !!s.persona;
    if (fin && reason !== 'shutdown' && reason !== 'error' && reason !== 'rst') {
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
    this.mirror();
    const now = Date.now();
    const idle = this.ctx.cfg.idleTimeout;
    const total = this.ctx.cfg.maxSession;
    for (const s of this.open) if (now - s.last >= idle || now - s.started >= total) this.ended(s, 'timeout');
  }

  /** Adds what the engine counted since the last look to the shared stats; logs descriptor exhaustion. */
  private mirror(): void {
    const c = this.engine.counters();
    this.ctx.stats.set('listener_open_sessions', c.open + this.open.size);
    for (const [key, stat] of MIRRORED) {
      const delta = c[key] - (this.mirrored.get(key) ?? 0);
      if (delta <= 0) continue;
      this.mirrored.set(key, c[key]);
      this.ctx.stats.inc(stat, delta);
      if (key === 'emfile' && this.shedLog.allow('emfile'))
        this.ctx.log.error(
          { open: c.open + this.open.size, pausedListeners: c.pausedListeners },
          'out of file descriptors: new connections shed and accepting paused (counted in ' +
            'listener_emfile_total); lower --max-sessions or raise the open-file limit',
        );
    }
  }

  /** Writes every open session with close "shutdown" and closes its socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const inEngine = this.engine.counters().open;
    this.engine.stop();
    this.mirror();
    const open = [...this.open];
    for (const s of open) this.ended(s, 'shutdown');
    const st = this.ctx.stats;
    this.ctx.log.info(
      {
        shutdown: open.length + inEngine,
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
