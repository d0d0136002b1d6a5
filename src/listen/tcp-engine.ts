// Typed wrapper of the TCP session engine (native/tcp-engine.cc): accept, first bytes and close in C, one
// JS call per wakeup with a batch of records. The C++ side trusts its arguments, so every value is
// validated here; the records are decoded here into plain objects the session handler turns into events.
import { isIPv4, isIPv6 } from 'node:net';
import { loadAddon } from '../core/addon.js';
import { formatAddress } from '../core/addresses.js';
import { TidewatchError } from '../core/errors.js';
import type { CloseReason } from '../core/events.js';
import type { SessionRecord } from '../core/session-event.js';
import type { Family } from './transparent-addon.js';

/** Bytes before a record's chunk table (see the layout in native/tcp-engine.cc). */
export const RECORD_HEADER = 80;
const CHUNK_ENTRY = 16;

// The numbers native/tcp-engine.cc writes into a record, named; the addon exports its own enums and
// src/core/addon.test.ts checks that they equal these.
export const RecordKind = { accept: 1, shed: 2, end: 3, handoff: 4 } as const;
export const CloseCode = {
  fin: 1,
  rst: 2,
  timeout: 3,
  cap: 4,
  error: 5,
  shutdown: 6,
} as const satisfies Partial<Record<CloseReason, number>>;
export const RecordFlag = { truncated: 1, kept: 2 } as const;

export interface EngineOptions {
  /** Bytes kept per session (--bufsize). */
  bufsize: number;
  idleMs: number;
  maxSessionMs: number;
  /** Open sessions at most (engine's and JS-held together); beyond it new connections are shed. */
  capacity: number;
  /** Close with FIN instead of RST, waiting up to finGraceMs for the client's FIN. */
  fin: boolean;
  finGraceMs: number;
  /** Hand connections whose first byte starts a TLS record (0x16) to JS for the handshake. */
  handoffTls: boolean;
  /** Hand connections that end on the cap or a timeout to JS (the tarpit) instead of closing them. */
  keepForTarpit: boolean;
  /** First bytes that hand a connection to JS (a responder may know the protocol); each 1-255 bytes. */
  handoffPrefixes?: readonly Buffer[];
  /** Destination ports whose connections JS takes at accept, before any byte (the responder speaks first). */
  bannerPorts?: readonly number[];
}

export interface EngineCounters {
  accepted: number;
  shed: number;
  emfile: number;
  resetBeforeAccept: number;
  acceptErrors: number;
  noOrigDst: number;
  open: number;
  closing: number;
  pausedListeners: number;
  wakeups: number;
  /** Descriptors handed over in a batch JS did not take (failed to decode): the engine closed them. */
  undelivered: number;
}

/** One record of a batch. `chunks` are views into the batch buffer: copy what is kept past the call. */
export interface EngineRecord extends Omit<SessionRecord, 'proto' | 'payloads'> {
  kind: 'accept' | 'shed' | 'end' | 'handoff';
  family: Family;
  /** A descriptor JS now owns (handoff, or an end record kept for the tarpit); -1 otherwise. */
  fd: number;
  chunks: { time: number; data: Buffer }[];
}

export interface NativeEngine {
  listen(fd: number): number;
  unlisten(id: number): void;
  setCapacity(n: number): void;
  setExternal(n: number): void;
  setPrefixes(table: Buffer): void;
  setBannerPorts(bitmap: Buffer): void;
  counters(): EngineCounters;
  stop(): void;
}

export interface NativeAddon {
  TcpEngine: new (
    bufsize: number,
    idleMs: number,
    maxSessionMs: number,
    capacity: number,
    fin: boolean,
    finGraceMs: number,
    handoffTls: boolean,
    keepForTarpit: boolean,
    cb: (batch: Buffer) => number,
  ) => NativeEngine;
  tcpListen(address: string, scope: number, port: number, backlog: number, v6only: boolean): number;
  scopeId(name: string): number;
  boundPort(fd: number): number;
  RECORD_HEADER: number;
  MAX_BATCH: number;
  RECORD_KIND: typeof RecordKind;
  CLOSE_REASON: typeof CloseCode;
  RECORD_FLAG: typeof RecordFlag;
}

/** The addon itself; only tests use it directly (to see batches as the engine hands them over). */
export function addon(): NativeAddon {
  // MAX_BATCH marks a build whose callback contract (bytes taken) this wrapper speaks.
  return loadAddon<NativeAddon>('tidewatch_tcp', 'TCP engine', 'needs g++ and make', [
    'MAX_BATCH',
    MAX_BATCH,
  ]);
}

/** An enum's names indexed by their numbers, for decoding a byte in one array lookup. */
function byNumber<K extends string>(e: Record<K, number>): (K | undefined)[] {
  const names: (K | undefined)[] = [];
  for (const [name, n] of Object.entries(e) as [K, number][]) names[n] = name;
  return names;
}
const KINDS = byNumber(RecordKind);
const REASONS = byNumber(CloseCode);
const U32 = 0x1_0000_0000;

const isCount = (n: number, max = U32 - 1) => Number.isInteger(n) && n >= 0 && n <= max;

const corrupt = (off: number) =>
  new TidewatchError('TW_ERR_ADDON', `TCP engine batch corrupt at byte ${off}`);

/** Bytes of one batch at most (plus the record that crossed the line): the engine splits larger ones. */
export const MAX_BATCH = 1 << 20;

/** Decodes every record of a batch, in order; `end` is the offset just past the record. */
export function decodeRecords(buf: Buffer, fn: (r: EngineRecord, end: number) => void): void {
  for (let off = 0; off + RECORD_HEADER <= buf.length;) {
    const len = buf.readUInt32LE(off + 8);
    const kind = KINDS[buf[off]!];
    if (!kind || len < RECORD_HEADER || off + len > buf.length) throw corrupt(off);
    const family: Family = buf[off + 1] === 6 ? 6 : 4;
    const n = buf.readUInt32LE(off + 12);
    const end = off + len;
    const chunks: EngineRecord['chunks'] = [];
    let data = off + RECORD_HEADER + n * CHUNK_ENTRY;
    if (data > end) throw corrupt(off);
    for (let i = 0; i < n; i++) {
      const e = off + RECORD_HEADER + i * CHUNK_ENTRY;
      const l = buf.readUInt32LE(e + 8);
      if (data + l > end) throw corrupt(off);
      chunks.push({ time: buf.readDoubleLE(e), data: buf.subarray(data, data + l) });
      data += l;
    }
    fn(
      {
        kind,
        family,
        src: formatAddress(family, buf, off + 48),
        sport: buf.readUInt16LE(off + 4),
        dst: formatAddress(family, buf, off + 64),
        dport: buf.readUInt16LE(off + 6),
        started: buf.readDoubleLE(off + 16),
        ended: buf.readDoubleLE(off + 24),
        bytes: buf.readDoubleLE(off + 32),
        truncated: (buf[off + 3]! & RecordFlag.truncated) !== 0,
        close: REASONS[buf[off + 2]!] ?? 'error',
        fd: buf.readInt32LE(off + 40),
        chunks,
      },
      end,
    );
    off += len;
  }
}

export interface TcpEngine {
  /** Takes a listening socket (the engine owns and closes it); returns a handle that stops accepting on it. */
  listen(fd: number): { close(): void };
  setCapacity(n: number): void;
  /** Sessions JS holds (TLS hand-offs): they count against the same cap. */
  setExternal(n: number): void;
  counters(): EngineCounters;
  /** Closes listeners, ends open sessions with close "shutdown" (delivered before it returns). Idempotent. */
  stop(): void;
}

/**
 * Starts the engine. `onRecord` gets every record in order; an error thrown while decoding or handling a
 * batch goes to `onError` (it must not escape into the native callback, where it would end the process).
 */
export function startTcpEngine(
  opts: EngineOptions,
  onRecord: (r: EngineRecord) => void,
  onError: (err: unknown) => void = () => {},
): TcpEngine {
  const { bufsize, idleMs, maxSessionMs, capacity, finGraceMs } = opts;
  if (!isCount(bufsize) || bufsize < 1)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid bufsize ${bufsize}`);
  for (const [k, v] of Object.entries({ idleMs, maxSessionMs, finGraceMs }))
    if (!Number.isFinite(v) || v < 0) throw new TidewatchError('TW_ERR_LISTEN', `invalid ${k} ${v}`);
  if (!isCount(capacity)) throw new TidewatchError('TW_ERR_LISTEN', `invalid capacity ${capacity}`);
  const native = new (addon().TcpEngine)(
    bufsize,
    idleMs,
    maxSessionMs,
    capacity,
    opts.fin,
    finGraceMs,
    opts.handoffTls,
    opts.keepForTarpit,
    (batch) => deliverBatch(batch, onRecord, onError),
  );
  if (opts.handoffPrefixes?.length) native.setPrefixes(prefixTable(opts.handoffPrefixes));
  if (opts.bannerPorts?.length) native.setBannerPorts(portBitmap(opts.bannerPorts));
  // stop() and unlisten() are idempotent in C (an unknown id or a stopped engine is a no-op).
  return {
    listen(fd) {
      if (!isCount(fd, 1 << 30)) throw new TidewatchError('TW_ERR_LISTEN', `invalid fd ${fd}`);
      const id = native.listen(fd);
      return { close: () => native.unlisten(id) };
    },
    setCapacity(n) {
      if (isCount(n)) native.setCapacity(n);
    },
    setExternal(n) {
      if (isCount(n)) native.setExternal(n);
    },
    counters: () => native.counters(),
    stop: () => native.stop(),
  };
}

/**
 * Hands a batch's records to `onRecord` and returns how many bytes of it JS took: the engine closes the
 * descriptors of records past that, so a batch that fails to decode leaks none. Errors go to `onError`, per
 * record so one failing record does not lose the rest of its batch; they must not escape into the native
 * callback, where they would end the process.
 */
export function deliverBatch(
  batch: Buffer,
  onRecord: (r: EngineRecord) => void,
  onError: (err: unknown) => void,
): number {
  let taken = 0;
  try {
    decodeRecords(batch, (r, end) => {
      taken = end; // delivered: its descriptor is JS's now, whatever onRecord does with it
      try {
        onRecord(r);
      } catch (err) {
        onError(err);
      }
    });
  } catch (err) {
    onError(err);
  }
  return taken;
}

/** The prefixes as the engine reads them: { u8 length, bytes } entries. */
export function prefixTable(prefixes: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of prefixes) {
    if (p.length < 1 || p.length > 255)
      throw new TidewatchError('TW_ERR_LISTEN', `invalid hand-off prefix of ${p.length} bytes`);
    parts.push(Buffer.from([p.length]), p);
  }
  return Buffer.concat(parts);
}

/** One bit per port (65536 bits). */
export function portBitmap(ports: readonly number[]): Buffer {
  const b = Buffer.alloc(8192);
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535)
      throw new TidewatchError('TW_ERR_LISTEN', `invalid banner port ${p}`);
    b[p >> 3]! |= 1 << (p & 7);
  }
  return b;
}

/**
 * A non-blocking listening TCP socket for ports mode; `host` '::' is dual-stack. Failures are thrown by the
 * addon as errors with a `code` (EADDRINUSE, EACCES, ...), like node:net's, so callers can tell why a port
 * is skipped.
 */
export function tcpListen(host: string, port: number, backlog: number): number {
  const zone = host.indexOf('%');
  const address = zone >= 0 ? host.slice(0, zone) : host;
  if (!isIPv4(address) && !isIPv6(address))
    throw new TidewatchError('TW_ERR_LISTEN', `invalid address ${JSON.stringify(host)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid port ${port}: use 1-65535`);
  if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65535)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid backlog ${backlog}`);
  let scope = 0;
  if (zone >= 0) {
    const name = host.slice(zone + 1);
    scope = /^\d+$/.test(name) ? Number(name) : addon().scopeId(name);
    if (!isCount(scope) || !scope)
      throw Object.assign(new Error(`unknown interface in ${host}`), { code: 'EADDRNOTAVAIL' });
  }
  return addon().tcpListen(address, scope, port, backlog, address !== '::');
}

/** The local port a socket is bound to. */
export function boundPort(fd: number): number {
  return addon().boundPort(fd);
}
