// Batch sources: a capture file read in bounded batches (yielding to the event loop between them) and a
// live interface polled by the addon. Both deliver (buf, count, linktype) as the batch contract says.
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { BatchState, openLive, openOffline, type NativePcap, type PcapStats } from './addon.js';

export type BatchHandler = (buf: Buffer, count: number, linktype: number) => void;

/** Batch buffer size: big enough for tens of thousands of small records, small enough to stay in cache. */
export const OFFLINE_BATCH_BYTES = 2 << 20;
export const LIVE_BATCH_BYTES = 1 << 20;

export interface FileReadResult {
  packets: number;
  /** Bytes of pcap records read (16-byte record headers plus captured bytes): for progress only. */
  bytes: number;
  linktype: number;
  truncated: boolean;
  /** libpcap's words when the file ended in an error (a cut record, a bad block). */
  error?: string;
}

/**
 * Reads a pcap or pcapng file through libpcap in batches. Each addon call is bounded by the buffer size,
 * and the loop yields between calls, so a huge file never blocks timers or signals.
 */
export async function readFileBatches(
  path: string,
  filter: string,
  onBatch: BatchHandler,
  onProgress?: (bytes: number) => void,
): Promise<FileReadResult> {
  const pcap = openOffline(path, filter);
  const linktype = pcap.linktype();
  const buf = Buffer.alloc(OFFLINE_BATCH_BYTES);
  const result: FileReadResult = { packets: 0, bytes: 0, linktype, truncated: false };
  try {
    for (;;) {
      const [count, used, state, error] = pcap.readBatch(buf);
      if (count > 0) {
        onBatch(buf, count, linktype);
        result.packets += count;
        // About the bytes of the file (pcap record headers are 16 bytes too; padding makes it approximate).
        result.bytes += used;
        onProgress?.(result.bytes);
      }
      if (state === BatchState.endOfFile) break;
      if (state === BatchState.failed) {
        result.truncated = true;
        result.error = error.replace(/\s+/g, ' ').trim();
        break;
      }
      await yieldLoop();
    }
  } finally {
    pcap.close();
  }
  return result;
}

export interface LiveSourceOptions {
  iface: string;
  filter: string;
  /** Bytes kept of each frame: all headers we decode plus some payload. */
  snaplen?: number;
  /** Kernel ring (TPACKET_V3) size. */
  bufferBytes?: number;
  /** Block retire timeout: the longest a packet waits in the ring before JS sees it. */
  timeoutMs?: number;
}

/** A live interface: incoming packets only (pcap_setdirection), batches delivered on the event loop. */
export class LiveSource {
  private pcap: NativePcap | undefined;
  private readonly buf = Buffer.alloc(LIVE_BATCH_BYTES);
  readonly linktype: number;
  private readonly timeoutMs: number;

  constructor(opts: LiveSourceOptions) {
    this.timeoutMs = opts.timeoutMs ?? 50;
    this.pcap = openLive({
      iface: opts.iface,
      filter: opts.filter,
      snaplen: opts.snaplen ?? 256,
      bufferBytes: opts.bufferBytes ?? 64 << 20,
      timeoutMs: this.timeoutMs,
    });
    this.linktype = this.pcap.linktype();
  }

  start(onBatch: BatchHandler): void {
    this.pcap?.start(this.buf, onBatch);
  }

  /** Kernel counters since open (ps_recv, ps_drop, ps_ifdrop). */
  stats(): PcapStats {
    return this.pcap?.stats() ?? { recv: 0, drop: 0, ifdrop: 0 };
  }

  /**
   * Waits for the kernel to retire the ring's current block (timeoutMs), then delivers what it holds:
   * without this, packets of the last few milliseconds before close would go uncounted.
   */
  async drain(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.timeoutMs * 2 + 10));
    this.pcap?.drain();
  }

  close(): void {
    this.pcap?.close();
    this.pcap = undefined;
  }
}
