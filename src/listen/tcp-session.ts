// One TCP connection: records the first --bufsize bytes (one payload entry per read, each with its own
// time), sniffs the first bytes for a TLS ClientHello and, when one comes, completes the handshake and
// records the decrypted data instead. Ends on the client's FIN or RST, on the byte cap, or when the owner
// (sessions.ts) times it out or shuts down; then the owner writes the record and closes the socket.
import { isIPv4, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { CloseReason, SessionEvent, TlsInfo } from '../core/events.js';
import { nowIso } from '../core/events.js';
import { ClientHelloReader, sniffTls, type ClientHello } from './tls/client-hello.js';
import { ja3, ja4, tlsVersionName } from './tls/fingerprint.js';

/** What a session needs from its owner: the caps and a way to report its end. */
export interface SessionOwner {
  readonly bufsize: number;
  readonly secureContext: SecureContext | undefined;
  ended(session: TcpSession, reason: CloseReason): void;
}

/** IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d; records carry the plain IPv4 address. */
export function plainAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

type Phase = 'sniff' | 'hello' | 'tls' | 'plain';

export class TcpSession {
  readonly started = Date.now();
  /** Last time bytes came in (idle timeout). */
  last = this.started;
  /** Bytes received in all (decrypted bytes for TLS). */
  bytes = 0;
  kept = 0;
  done = false;
  readonly times: number[] = [];
  readonly chunks: Buffer[] = [];
  /** The socket that carries application data: the TCP socket, or the TLSSocket over it. */
  app: Socket;
  private phase: Phase;
  /** Raw bytes held while deciding between TLS and plain (bounded by the ClientHello reader's cap). */
  private head: Buffer[] = [];
  private headTimes: number[] = [];
  private hello: ClientHelloReader | undefined;
  private ch: ClientHello | undefined;
  private tlsVersion: string | undefined;

  constructor(
    private readonly owner: SessionOwner,
    readonly socket: Socket,
    readonly src: string,
    readonly sport: number,
    readonly dst: string,
    readonly dport: number,
  ) {
    this.app = socket;
    this.phase = owner.secureContext ? 'sniff' : 'plain';
    socket.on('data', (d: Buffer) => this.onRaw(d));
    this.watch(socket);
  }

  get proto(): 'tcp' | 'tls' {
    return this.ch ? 'tls' : 'tcp';
  }

  private watch(s: Socket): void {
    s.on('end', () => this.owner.ended(this, 'fin'));
    s.on('error', (err: NodeJS.ErrnoException) =>
      this.owner.ended(this, err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'rst' : 'error'),
    );
    s.on('close', () => this.owner.ended(this, 'error'));
  }

  private onRaw(d: Buffer): void {
    if (this.done) return;
    const now = Date.now();
    this.last = now;
    switch (this.phase) {
      case 'plain':
        return this.record(d, now);
      case 'sniff': {
        this.hold(d, now);
        const head = this.head.length === 1 ? d : Buffer.concat(this.head);
        const s = sniffTls(head);
        if (s === 'plain') return this.asPlain();
        if (s === 'more') return;
        this.phase = 'hello';
        this.hello = new ClientHelloReader();
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
    this.head.push(d);
    this.headTimes.push(now);
  }

  private onHello(r: ClientHello | 'more' | Error): void {
    if (r === 'more') return;
    if (r instanceof Error) return this.asPlain(); // TLS-looking bytes that are not a ClientHello: keep them
    this.ch = r;
    this.upgrade();
  }

  /** The first bytes were not TLS: record what was held back as ordinary reads. */
  private asPlain(): void {
    this.phase = 'plain';
    const head = this.head;
    const times = this.headTimes;
    this.head = [];
    this.headTimes = [];
    this.hello = undefined;
    for (let i = 0; i < head.length && !this.done; i++) this.record(head[i]!, times[i]!);
  }

  /** Hands the connection, ClientHello included, to a server-side TLSSocket and records what it decrypts. */
  private upgrade(): void {
    this.phase = 'tls';
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.pause();
    raw.unshift(Buffer.concat(this.head));
    this.head = [];
    this.headTimes = [];
    this.hello = undefined;
    const t = new TLSSocket(raw, { isServer: true, secureContext: this.owner.secureContext! });
    this.app = t;
    t.on('secure', () => {
      this.tlsVersion = t.getProtocol() || undefined;
    });
    t.on('data', (d: Buffer) => {
      if (this.done) return;
      const now = Date.now();
      this.last = now;
      this.record(d, now);
    });
    this.watch(t);
  }

  private record(d: Buffer, now: number): void {
    this.bytes += d.length;
    const room = this.owner.bufsize - this.kept;
    if (room > 0) {
      // A copy: the read buffer may be larger than what is kept, and must not be retained.
      const take = d.length <= room ? Buffer.from(d) : Buffer.from(d.subarray(0, room));
      this.chunks.push(take);
      this.times.push(now);
      this.kept += take.length;
    }
    if (this.kept >= this.owner.bufsize) this.owner.ended(this, 'cap');
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
    if (this.head.length) this.asPlainForRecord();
    const ev: SessionEvent = {
      type: 'session',
      ts: nowIso(ended),
      sensor,
      proto: this.proto,
      src: this.src,
      sport: this.sport,
      dst: this.dst,
      dport: this.dport,
      started: nowIso(this.started),
      ended: nowIso(ended),
      bytes: this.bytes,
      truncated: this.bytes > this.kept,
      close: reason,
      payloads: this.chunks.map((c, index) => ({
        index,
        timestamp: nowIso(this.times[index]),
        data: c.toString('base64'),
      })),
    };
    const tls = this.tlsInfo();
    if (tls) ev.tls = tls;
    return ev;
  }

  private asPlainForRecord(): void {
    const head = this.head;
    const times = this.headTimes;
    this.head = [];
    this.headTimes = [];
    for (let i = 0; i < head.length; i++) {
      const d = head[i]!;
      this.bytes += d.length;
      const room = this.owner.bufsize - this.kept;
      if (room <= 0) continue;
      const take = Buffer.from(d.subarray(0, room));
      this.chunks.push(take);
      this.times.push(times[i]!);
      this.kept += take.length;
    }
  }
}
