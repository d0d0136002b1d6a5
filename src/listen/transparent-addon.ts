// Typed wrapper of the transparent-socket addon (native/transparent.cc). The C++ side trusts its arguments,
// so every value is validated here first; errors become TidewatchError codes.
import { isIPv4, isIPv6 } from 'node:net';
import { formatAddress } from '../core/addresses.js';
import { loadAddon } from '../core/addon.js';
import { TidewatchError } from '../core/errors.js';
import type { Datagram } from './types.js';

export type Family = 4 | 6;

/** Bytes before each record's payload in the batch buffer (see native/transparent.cc). */
export const RECORD_HEADER = 48;
/** Record flags as native/transparent.cc numbers them (src/core/addon.test.ts checks they agree). */
export const RecordFlag = { noOrigDst: 1 } as const;
/** A UDP datagram is at most 65535 bytes: more can never be kept. */
export const MAX_KEEP = 65535;

interface NativeReceiver {
  start(): void;
  stop(): void;
  stats(): { datagrams: number; wakeups: number; errors: number };
}

interface NativeAddon {
  tcpListen(family: number, address: string, port: number, backlog: number): number;
  udpSocket(family: number, address: string, port: number, rcvbuf: number): number;
  closeFd(fd: number): void;
  sendFrom(from: string, fromPort: number, to: string, toPort: number, data: Buffer): number;
  UdpReceiver: new (
    fd: number,
    buf: Buffer,
    keep: number,
    maxRecords: number,
    cb: (count: number) => void,
  ) => NativeReceiver;
  RECORD_HEADER: number;
  RECORD_FLAG: typeof RecordFlag;
}

function addon(): NativeAddon {
  return loadAddon<NativeAddon>('tidewatch_transparent', 'transparent-socket', 'needs g++ and make', [
    'RECORD_HEADER',
    RECORD_HEADER,
  ]);
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid port ${String(port)}: use 1-65535`);
}

function checkAddress(family: Family, address: string): void {
  if (family === 4 ? !isIPv4(address) : !isIPv6(address) || address.includes('%'))
    throw new TidewatchError('TW_ERR_LISTEN', `invalid IPv${family} address ${JSON.stringify(address)}`);
}

/** The errno name (`code`) the addon threw, found on a TidewatchError's cause. */
const sysCode = (err: unknown): string | undefined =>
  ((err instanceof TidewatchError ? err.cause : err) as { code?: unknown } | undefined)?.code as
    string | undefined;

/** True when a transparent socket failed because the host has no such address family (no IPv6). */
export const familyUnavailable = (err: unknown): boolean => sysCode(err) === 'EAFNOSUPPORT';

function sockError(what: string, family: Family, port: number, err: unknown): TidewatchError {
  const e = err as { message?: string };
  const code = sysCode(err);
  const hint =
    code === 'EPERM'
      ? ': transparent sockets need root or CAP_NET_ADMIN'
      : code === 'EADDRINUSE'
        ? `: port ${port} is in use, choose another with --tproxy-port`
        : code === 'EAFNOSUPPORT'
          ? `: IPv${family} is not available on this host`
          : '';
  return new TidewatchError(
    'TW_ERR_LISTEN',
    `transparent ${what} socket IPv${family} port ${port}: ${e.message ?? String(err)}${hint}`,
    { cause: err },
  );
}

/** A listening TCP socket with IP(V6)_TRANSPARENT; returns its fd for the session engine. */
export function transparentTcpListen(family: Family, address: string, port: number, backlog = 4096): number {
  checkAddress(family, address);
  checkPort(port);
  if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65535)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid backlog ${backlog}`);
  try {
    return addon().tcpListen(family, address, port, backlog);
  } catch (err) {
    if (err instanceof TidewatchError) throw err;
    throw sockError('TCP', family, port, err);
  }
}

/** A bound UDP socket with IP(V6)_TRANSPARENT and IP(V6)_RECVORIGDSTADDR; returns its fd. */
export function transparentUdpSocket(
  family: Family,
  address: string,
  port: number,
  rcvbuf = 8 << 20,
): number {
  checkAddress(family, address);
  checkPort(port);
  if (!Number.isInteger(rcvbuf) || rcvbuf < 0 || rcvbuf > 1 << 30)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid receive buffer ${rcvbuf}`);
  try {
    return addon().udpSocket(family, address, port, rcvbuf);
  } catch (err) {
    if (err instanceof TidewatchError) throw err;
    throw sockError('UDP', family, port, err);
  }
}

/**
 * Sends a UDP datagram from an address and port this host does not own (a tproxy datagram's original
 * destination) to `to`: a reply that looks as if the address the client aimed at answered.
 */
export function sendFrom(
  family: Family,
  from: { address: string; port: number },
  to: { address: string; port: number },
  data: Buffer,
): number {
  checkAddress(family, from.address);
  checkAddress(family, to.address);
  checkPort(from.port);
  checkPort(to.port);
  return addon().sendFrom(from.address, from.port, to.address, to.port, data);
}

export function closeFd(fd: number): void {
  if (Number.isInteger(fd) && fd >= 0) addon().closeFd(fd);
}

/**
 * One received datagram, decoded from a batch record (the batch's receiver stamps the time). `data` is a
 * copy, safe to keep; `dst`/`dport` are '' / 0 when the kernel gave no original destination.
 */
export interface ReceivedDatagram extends Omit<Datagram, 'time'> {
  family: Family;
}

export interface UdpReceiverOptions {
  /** Bytes kept of each datagram (1..65535). */
  keep: number;
  /** Datagrams per batch (per JS callback). */
  maxBatch?: number;
}

/** Decodes `count` records of a batch buffer (exported for tests and the benchmark). */
export function decodeBatch(
  buf: Buffer,
  count: number,
  stride: number,
  fn: (d: ReceivedDatagram) => void,
): void {
  for (let i = 0; i < count; i++) {
    const off = i * stride;
    const bytes = buf.readUInt32LE(off);
    const kept = buf.readUInt16LE(off + 4);
    const family: Family = buf[off + 6] === 6 ? 6 : 4;
    const missing = (buf[off + 7]! & RecordFlag.noOrigDst) !== 0;
    fn({
      family,
      src: formatAddress(family, buf, off + 16),
      sport: buf.readUInt16BE(off + 8),
      dst: missing ? '' : formatAddress(family, buf, off + 32),
      dport: missing ? 0 : buf.readUInt16BE(off + 10),
      data: Buffer.from(buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + kept)),
      bytes,
    });
  }
}

export interface UdpReceiver {
  stats(): { datagrams: number; wakeups: number; errors: number };
  /** Stops polling and closes the fd. Idempotent. */
  close(): void;
}

/**
 * Polls a transparent UDP fd; `onBatch` is called once per wakeup with every datagram read then.
 * The receiver owns the fd from here on (close() closes it).
 */
export function startUdpReceiver(
  fd: number,
  opts: UdpReceiverOptions,
  onBatch: (datagrams: ReceivedDatagram[]) => void,
): UdpReceiver {
  if (!Number.isInteger(fd) || fd < 0) throw new TidewatchError('TW_ERR_LISTEN', `invalid fd ${fd}`);
  const keep = opts.keep;
  const maxBatch = opts.maxBatch ?? 256;
  if (!Number.isInteger(keep) || keep < 1 || keep > MAX_KEEP)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid UDP keep size ${keep}: use 1-${MAX_KEEP}`);
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 4096)
    throw new TidewatchError('TW_ERR_LISTEN', `invalid UDP batch size ${maxBatch}: use 1-4096`);
  const stride = RECORD_HEADER + ((keep + 7) & ~7);
  const buf = Buffer.alloc(stride * maxBatch);
  const native = new (addon().UdpReceiver)(fd, buf, keep, maxBatch, (count) => {
    const out: ReceivedDatagram[] = [];
    decodeBatch(buf, count, stride, (d) => out.push(d));
    onBatch(out);
  });
  native.start();
  let closed = false;
  return {
    stats: () => native.stats(),
    close() {
      if (closed) return;
      closed = true;
      native.stop();
      addon().closeFd(fd);
    },
  };
}
