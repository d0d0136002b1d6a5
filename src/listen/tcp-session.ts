// One TCP connection: records the first --bufsize bytes (one payload entry per read, each with its own
// time), sniffs the first bytes for a TLS ClientHello and, when one comes, completes the handshake and
// records the decrypted data instead. Ends on the client's FIN or RST, on the byte cap, or when the owner
// (sessions.ts) times it out or shuts down; then the owner writes the record and closes the socket.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { CloseReason, SessionEvent, TlsInfo } from '../core/events.js';
import { sessionEvent } from '../core/session-event.js';
import type { Responder } from '../respond/index.js';
import { IDENTIFY_MAX_BYTES } from '../respond/identify.js';
import type { PersonaSession } from '../respond/session.js';
import type { PersonaName } from '../respond/types.js';
import { ClientHelloReader, sniffTls, type ClientHello } from './tls/client-hello.js';
import { ja3, ja4, tlsVersionName } from './tls/fingerprint.js';

/** What a session needs from its owner: the caps and a way to report its end. */
export interface SessionOwner {
  readonly bufsize: number;
  readonly secureContext: SecureContext | undefined;
  /** Picks and runs personas (--respond on). */
  readonly responder: Responder | undefined;
  /** Whether a handshake with this source fits the budget now (false: recorded as plain TCP and closed). */
  admitHandshake(src: string): boolean;
  ended(session: TcpSession, reason: CloseReason): void;
}

type Phase = 'sniff' | 'hello' | 'tls' | 'plain';

/**
 * Bytes buffered for one ClientHello before the handshake starts (maxClientHelloBytes). Real ones are
 * 0.2-2 KB (post-quantum key shares included); 16 KiB bounds a flood of half-sent hellos to 16 KiB a
 * session (160 MiB at 10,000 sessions) instead of the parser's 64 KiB ceiling.
 */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

/**
 * Payload entries per session: one per read, but a client trickling a byte per read must not make
 * thousands; later reads are appended to the last entry (as native/tcp-engine.cc does).
 */
export const MAX_PAYLOAD_ENTRIES = 128;

/** The session a socket belongs to: shared handlers below find it here instead of a closure per socket. */
const SESSION = Symbol('tidewatch.session');
type Owned = Socket & { [SESSION]?: TcpSession };

// One set of handler functions for all sockets (`this` is the socket): idle connections stay cheap.
function onRawData(this: Owned, d: Buffer): void {
  this[SESSION]?.onRaw(d);
}
function onAppData(this: Owned, d: Buffer): void {
  this[SESSION]?.onApp(d);
}
function onEnd(this: Owned): void {
  const s = this[SESSION];
  if (s) s.owner.ended(s, 'fin');
}
function onError(this: Owned, err: NodeJS.ErrnoException): void {
  const s = this[SESSION];
  if (s) s.owner.ended(s, err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'rst' : 'error');
}
function onClose(this: Owned): void {
  const s = this[SESSION];
  if (s) s.owner.ended(s, 'error');
}

export class TcpSession {
  /** Last time bytes came in (idle timeout). */
  last: number;
  /** Bytes received in all (decrypted bytes for TLS). */
  bytes = 0;
  kept = 0;
  done = false;
  /** Kept reads and their times (allocated at the first read: most idle probes never send). */
  times: number[] | undefined;
  chunks: Buffer[][] | undefined;
  /** The socket that carries application data: the TCP socket, or the TLSSocket over it. */
  app: Socket;
  private phase: Phase;
  /** Raw bytes held while deciding between TLS and plain (bounded by the ClientHello reader's cap). */
  private head: Buffer[] | undefined;
  private headTimes: number[] | undefined;
  private hello: ClientHelloReader | undefined;
  private ch: ClientHello | undefined;
  private tlsVersion: string | undefined;
  /** The persona answering this session (--respond on), once one is picked. */
  persona: PersonaSession | undefined;
  /** First application bytes held while the responder cannot tell the protocol yet. */
  private idHead: Buffer | undefined;
  private identified = false;
  /** A ClientHello over the handshake budget: recorded with its fields, as plain TCP, never answered. */
  private overBudget = false;

  constructor(
    readonly owner: SessionOwner,
    readonly socket: Socket,
    readonly src: string,
    readonly sport: number,
    readonly dst: string,
    readonly dport: number,
    /** Accept time (ms): the engine accepted the connection before handing it over. */
    readonly started: number,
  ) {
    this.last = started;
    this.app = socket;
    this.phase = owner.secureContext ? 'sniff' : 'plain';
    (socket as Owned)[SESSION] = this;
    socket.on('data', onRawData);
    this.watch(socket);
  }

  get proto(): 'tcp' | 'tls' {
    return this.ch && !this.overBudget ? 'tls' : 'tcp';
  }

  private watch(s: Socket): void {
    s.on('end', onEnd);
    s.on('error', onError);
    s.on('close', onClose);
  }

  /** Detaches the shared handlers' link (the tarpit or the close path owns the socket now). */
  detach(): void {
    // Assigned, not deleted: deleting a property makes V8 fall back to slow dictionary objects.
    (this.socket as Owned)[SESSION] = undefined;
    (this.app as Owned)[SESSION] = undefined;
  }

  onRaw(d: Buffer, now = Date.now()): void {
    if (this.done) return;
    this.last = now;
    switch (this.phase) {
      case 'plain':
        return this.record(d, now);
      case 'sniff': {
        this.hold(d, now);
        const head = this.head!.length === 1 ? d : Buffer.concat(this.head!);
        const s = sniffTls(head);
        if (s === 'plain') return this.asPlain();
        if (s === 'more') return;
        this.phase = 'hello';
        this.hello = new ClientHelloReader(MAX_CLIENT_HELLO_BYTES);
        return this.onHello(this.hello.push(head));
      }
      case 'hello':
        this.hold(d, now);
        return this.onHello(this.hello!.push(d));
      case 'tls':
        return; // the TLSSocket reads from here on
    }
  }

  private hold(d: Buffer, now: number): void {
    (this.head ??= []).push(d);
    (this.headTimes ??= []).push(now);
  }

  private onHello(r: ClientHello | 'more' | Error): void {
    if (r === 'more') return;
    if (r instanceof Error) return this.asPlain(); // TLS-looking bytes that are not a ClientHello: keep them
    this.ch = r;
    if (this.owner.admitHandshake(this.src)) return this.upgrade();
    // Never answered (no persona either): the record keeps the held ClientHello as its payload.
    this.overBudget = true;
    this.phase = 'plain';
    this.hello = undefined;
    this.owner.ended(this, 'shed');
  }

  /** The first bytes were not TLS: record what was held back as ordinary reads. */
  private asPlain(): void {
    this.phase = 'plain';
    const head = this.head ?? [];
    const times = this.headTimes ?? [];
    this.head = this.headTimes = undefined;
    this.hello = undefined;
    for (let i = 0; i < head.length && !this.done; i++) this.record(head[i]!, times[i]!);
  }

  /** Hands the connection, ClientHello included, to a server-side TLSSocket and records what it decrypts. */
  private upgrade(): void {
    this.phase = 'tls';
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.pause();
    raw.unshift(Buffer.concat(this.head ?? []));
    this.head = this.headTimes = undefined;
    this.hello = undefined;
    const t = new TLSSocket(raw, { isServer: true, secureContext: this.owner.secureContext! });
    this.app = t;
    (t as Owned)[SESSION] = this;
    t.on('secure', () => {
      this.tlsVersion = t.getProtocol() || undefined;
    });
    t.on('data', onAppData);
    this.watch(t);
  }

  onApp(d: Buffer): void {
    if (this.done) return;
    const now = Date.now();
    this.last = now;
    this.record(d, now);
  }

  private record(d: Buffer, now: number): void {
    this.keep(d, now);
    if (this.kept >= this.owner.bufsize) return this.owner.ended(this, 'cap');
    this.respond(d);
  }

  /** Application bytes to the persona, or to the responder until it knows the protocol. */
  private respond(d: Buffer): void {
    if (this.persona) return this.persona.onData(d);
    const responder = this.owner.responder;
    if (!responder || this.identified) return;
    const head = this.idHead ? Buffer.concat([this.idHead, d]) : d;
    const name = responder.identify(head);
    if (name === 'more' && head.length < IDENTIFY_MAX_BYTES) {
      this.idHead = Buffer.from(head);
      return;
    }
    this.idHead = undefined;
    if (name && name !== 'more') this.startPersona(name, head);
    else this.identified = true;
  }

  /** Gives the session a persona (at accept on a server-first port, or when the first bytes tell). */
  startPersona(name: PersonaName, head?: Buffer): void {
    this.identified = true;
    const responder = this.owner.responder;
    if (!responder || this.done) return;
    this.persona = responder.start(name, this, {
      write: (b) => void this.app.write(b),
      // The persona is done: FIN after what it sent, and the record is written now.
      end: () => this.owner.ended(this, 'fin'),
    });
    this.persona?.begin();
    if (head?.length) this.persona?.onData(head);
  }

  /** Counts a read and keeps what fits under --bufsize: a new payload entry, or the last one's tail. */
  private keep(d: Buffer, now: number): void {
    this.bytes += d.length;
    const room = this.owner.bufsize - this.kept;
    if (room <= 0) return;
    // A copy: the read buffer may be larger than what is kept, and must not be retained.
    const take = d.length <= room ? Buffer.from(d) : Buffer.from(d.subarray(0, room));
    const chunks = (this.chunks ??= []);
    if (chunks.length < MAX_PAYLOAD_ENTRIES) {
      chunks.push([take]);
      (this.times ??= []).push(now);
    } else chunks[chunks.length - 1]!.push(take);
    this.kept += take.length;
  }

  tlsInfo(): TlsInfo | undefined {
    const ch = this.ch;
    if (!ch) return undefined;
    const j3 = ja3(ch);
    const offered = ch.supportedVersions.length ? Math.max(...ch.supportedVersions) : ch.version;
    return {
      version: this.tlsVersion ?? tlsVersionName(offered),
      ...(ch.sni !== undefined ? { sni: ch.sni } : {}),
      alpn: ch.alpn,
      ja3: j3.text,
      ja3_hash: j3.hash,
      ja4: ja4(ch),
    };
  }

  toEvent(sensor: string, reason: CloseReason, ended = Date.now()): SessionEvent {
    // Bytes held back while sniffing (a connection closed mid-ClientHello) still belong to the record.
    if (this.head?.length) this.asPlainForRecord();
    const chunks = this.chunks ?? [];
    const times = this.times ?? [];
    const ev = sessionEvent(sensor, {
      proto: this.proto,
      src: this.src,
      sport: this.sport,
      dst: this.dst,
      dport: this.dport,
      started: this.started,
      ended,
      bytes: this.bytes,
      truncated: this.bytes > this.kept,
      close: reason,
      payloads: chunks.map((c, i) => ({ time: times[i]!, data: c.length === 1 ? c[0]! : Buffer.concat(c) })),
    });
    const tls = this.tlsInfo();
    if (tls) ev.tls = tls;
    if (this.persona) Object.assign(ev, this.persona.fields());
    return ev;
  }

  private asPlainForRecord(): void {
    const head = this.head ?? [];
    const times = this.headTimes ?? [];
    this.head = this.headTimes = undefined;
    for (let i = 0; i < head.length; i++) this.keep(head[i]!, times[i]!);
  }
}
