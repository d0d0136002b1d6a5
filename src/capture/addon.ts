// Loads the tidewatch_pcap addon and gives it types. The addon is thin (DESIGN §6.8): every argument is
// validated here, the C++ side trusts it. Records in a batch buffer are documented in docs/capture.md.
import { TidewatchError } from '../core/errors.js';
import { loadAddon } from '../core/addon.js';

export interface PcapStats {
  recv: number;
  drop: number;
  ifdrop: number;
  error?: string;
}

// The codes native/pcap.cc throws and the states readBatch returns, named as it names them; the addon
// exports its own copies and src/core/addon.test.ts checks that they agree. System errors carry an errno name.
export const PcapErrorCode = {
  filter: 'PCAP_FILTER',
  notCapture: 'PCAP_NOT_CAPTURE',
  headerCut: 'PCAP_HEADER_CUT',
  open: 'PCAP_OPEN',
  state: 'PCAP_STATE',
} as const;
export const BatchState = { more: 0, endOfFile: 1, failed: 2 } as const;

/** One libpcap handle (file or live interface), as the addon exposes it. */
export interface NativePcap {
  /** [records, bytes used, state (BatchState), error text]. */
  readBatch(buf: Buffer): [number, number, number, string];
  start(buf: Buffer, cb: (buf: Buffer, count: number, linktype: number) => void): void;
  stats(): PcapStats;
  /** Delivers what the ring holds now through the start() callback. */
  drain(): void;
  close(): void;
  linktype(): number;
  snaplen(): number;
}

interface NativeModule {
  Pcap: {
    openOffline(path: string, filter: string): NativePcap;
    openLive(
      iface: string,
      filter: string,
      snaplen: number,
      bufferBytes: number,
      timeoutMs: number,
    ): NativePcap;
    libVersion(): string;
  };
  ERROR_CODE: typeof PcapErrorCode;
  BATCH_STATE: typeof BatchState;
}

/** The addon, loaded once from build/Release (npm install / node-gyp rebuild builds it). */
export function loadPcapAddon(): NativeModule {
  return loadAddon<NativeModule>('tidewatch_pcap', 'libpcap', 'needs libpcap-dev');
}

// Bounds chosen for a sensor: headers of every layer we decode plus a little payload; a ring big enough
// to absorb a burst of several hundred thousand small packets while JS is busy.
export const SNAPLEN_MIN = 96;
export const SNAPLEN_MAX = 65535;

export interface LiveOptions {
  iface: string;
  filter: string;
  snaplen: number;
  bufferBytes: number;
  timeoutMs: number;
}

/** A BPF filter is handed to pcap_compile: refuse control characters so errors stay one line. */
function checkFilter(filter: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(filter) || filter.length > 4096)
    throw new TidewatchError('TW_ERR_CONFIG', 'bad filter: control characters or longer than 4096 bytes');
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** The addon's error as a TidewatchError: a filter that does not compile is the user's config. */
function pcapError(err: unknown, otherwise: 'TW_ERR_PCAP_FILE' | 'TW_ERR_CAPTURE'): TidewatchError {
  const code = (err as { code?: unknown }).code;
  const msg = oneLine((err as Error).message);
  return new TidewatchError(code === PcapErrorCode.filter ? 'TW_ERR_CONFIG' : otherwise, msg, { cause: err });
}

/** Why a capture file did not open, when the addon could tell from its header (see PcapErrorCode). */
export function pcapFileProblem(err: unknown): 'notCapture' | 'headerCut' | undefined {
  const code = ((err instanceof TidewatchError ? err.cause : err) as { code?: unknown } | undefined)?.code;
  if (code === PcapErrorCode.notCapture) return 'notCapture';
  if (code === PcapErrorCode.headerCut) return 'headerCut';
  return undefined;
}

export function openOffline(path: string, filter: string): NativePcap {
  checkFilter(filter);
  if (path.includes('\0')) throw new TidewatchError('TW_ERR_PCAP_FILE', 'bad file name');
  const addon = loadPcapAddon();
  try {
    return addon.Pcap.openOffline(path, filter);
  } catch (err) {
    throw pcapError(err, 'TW_ERR_PCAP_FILE');
  }
}

export function openLive(o: LiveOptions): NativePcap {
  checkFilter(o.filter);
  // eslint-disable-next-line no-control-regex
  if (!o.iface || o.iface.length > 64 || /[\u0000-\u0020/]/.test(o.iface))
    throw new TidewatchError('TW_ERR_CONFIG', `bad interface name: ${JSON.stringify(o.iface)}`);
  const int = (v: number, lo: number, hi: number, what: string): number => {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new TidewatchError('TW_ERR_CONFIG', `${what} must be a whole number from ${lo} to ${hi}`);
    return v;
  };
  const addon = loadPcapAddon();
  try {
    return addon.Pcap.openLive(
      o.iface,
      o.filter,
      int(o.snaplen, SNAPLEN_MIN, SNAPLEN_MAX, 'snaplen'),
      int(o.bufferBytes, 1 << 20, 1 << 30, 'capture buffer'),
      int(o.timeoutMs, 1, 10_000, 'capture timeout'),
    );
  } catch (err) {
    throw pcapError(err, 'TW_ERR_CAPTURE');
  }
}

/** Offset of the record after the one at `off` holding `caplen` bytes (records are 8-byte aligned). */
export const nextRecord = (off: number, caplen: number): number => (off + 16 + caplen + 7) & ~7;
