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

/** One libpcap handle (file or live interface), as the addon exposes it. */
export interface NativePcap {
  /** [records, bytes used, state (0 more, 1 end of file, 2 error), error text]. */
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

export function openOffline(path: string, filter: string): NativePcap {
  checkFilter(filter);
  if (path.includes('\0')) throw new TidewatchError('TW_ERR_PCAP_FILE', 'bad file name');
  const addon = loadPcapAddon();
  try {
    return addon.Pcap.openOffline(path, filter);
  } catch (err) {
    const msg = oneLine((err as Error).message);
    throw new TidewatchError(msg.startsWith('bad filter') ? 'TW_ERR_CONFIG' : 'TW_ERR_PCAP_FILE', msg);
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
    const msg = oneLine((err as Error).message);
    throw new TidewatchError(msg.startsWith('bad filter') ? 'TW_ERR_CONFIG' : 'TW_ERR_CAPTURE', msg);
  }
}

/** Offset of the record after the one at `off` holding `caplen` bytes (records are 8-byte aligned). */
export const nextRecord = (off: number, caplen: number): number => (off + 16 + caplen + 7) & ~7;
