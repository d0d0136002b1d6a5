// A bounded, ordered, on-disk queue of text lines for a sender whose receiver may be down. Lines are
// appended to one file; the sender reads from the committed offset and commits what it sent. When all is
// sent the file is truncated. The file itself never exceeds maxBytes: when an append would pass it, the
// sent head is compacted away (the unsent tail copied to a new file renamed over the old one) once it is at
// least a quarter of maxBytes; otherwise (or if still too full) the new lines are dropped (the newest, so
// what waits keeps its order) and counted. Compaction copies at most maxBytes per quarter of maxBytes sent,
// so a collector a little behind costs linear work. The offset is kept in a side file so a restart resumes;
// a torn last line (crash mid-append) is cut back at open. Delivery is at least once: a crash in the middle
// of a compaction resends what was sent before it. The data dir's quota (spoolPart) takes the oldest unsent
// lines first, a slice at a time, never the chunk the sender is writing, and counts them.
// Every file operation is async and serialized on one promise chain: the event loop never waits on disk.
import { mkdir, open, readFile, writeFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { cutTornLine } from '../core/torn-line.js';
import type { Stats } from '../core/stats.js';
import type { DiskPart } from '../store/disk-quota.js';

export class DiskSpool {
  private fh: FileHandle | undefined;
  /** File size (all appended bytes, sent or not). */
  private size = 0;
  /** Bytes already sent and committed. */
  private sent = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly file: string;
  private readonly offsetFile: string;
  /** Lines dropped because the spool was full. */
  overflowLines = 0;
  /** Bytes of a torn last line cut back at open. */
  tornBytes = 0;
  /** Compactions done (sent head removed from the file). */
  compactions = 0;
  /** Unsent lines the quota dropped (the oldest first). */
  prunedLines = 0;
  /** Bytes of the last read() not yet committed: the sender is writing them, the quota leaves them. */
  private inflight = 0;
  /** Last disk error, if any (the caller logs it rate-limited). */
  lastError: Error | undefined;

  constructor(
    private readonly dir: string,
    name: string,
    private readonly maxBytes: number,
    private readonly onOverflow: (lines: number) => void = () => {},
  ) {
    this.file = join(dir, `${name}.spool`);
    this.offsetFile = join(dir, `${name}.offset`);
  }

  /** Opens (or creates) the spool and resumes after what an earlier run sent. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.fh = await open(this.file, 'a+', 0o600);
    this.size = (await this.fh.stat()).size;
    let off = 0;
    try {
      off = Number((await readFile(this.offsetFile, 'utf8')).trim());
    } catch {
      off = 0;
    }
    this.sent = Number.isSafeInteger(off) && off >= 0 && off <= this.size ? off : 0;
    // A torn last line (crash mid-append) is half a record: cut it back.
    this.tornBytes = await cutTornLine(this.fh, this.size);
    this.size -= this.tornBytes;
    if (this.sent > this.size) this.sent = this.size;
  }

  /** Bytes waiting to be sent. */
  pending(): number {
    return this.size - this.sent;
  }

  /** Bytes the spool file holds on disk (sent head included until it is compacted away). */
  fileBytes(): number {
    return this.size;
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const p = this.chain.then(op);
    this.chain = p.catch((err: unknown) => {
      this.lastError = err as Error;
    });
    return p;
  }

  /** Queues lines (each without its newline). Resolves once they are on disk (or dropped). */
  append(lines: string[]): Promise<void> {
    return this.run(async () => {
      if (!this.fh) return;
      const incoming = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
      if (this.size + incoming > this.maxBytes && this.sent >= this.maxBytes / 4)
        await this.rewrite(this.size, this.size);
      let room = this.maxBytes - this.size;
      const parts: string[] = [];
      let dropped = 0;
      for (const l of lines) {
        const n = Buffer.byteLength(l) + 1;
        if (n > room) {
          dropped++;
          continue;
        }
        room -= n;
        parts.push(l);
      }
      if (dropped) {
        this.overflowLines += dropped;
        this.onOverflow(dropped);
      }
      if (!parts.length) return;
      const data = Buffer.from(parts.join('\n') + '\n');
      await this.fh.appendFile(data);
      this.size += data.length;
    });
  }

  /** Up to maxBytes of whole lines from the first unsent byte, or null when nothing waits. */
  read(maxBytes: number): Promise<Buffer | null> {
    return this.run(async () => {
      this.inflight = 0;
      if (!this.fh || this.pending() === 0) return null;
      const want = Math.min(maxBytes, this.pending());
      const buf = Buffer.alloc(want);
      const { bytesRead } = await this.fh.read(buf, 0, want, this.sent);
      let end = buf.lastIndexOf(0x0a, bytesRead - 1) + 1;
      if (end === 0) {
        // One line longer than maxBytes: send it whole (lines are ours and small; this is a safety net).
        const all = Buffer.alloc(this.pending());
        const r = await this.fh.read(all, 0, all.length, this.sent);
        end = all.lastIndexOf(0x0a, r.bytesRead - 1) + 1 || r.bytesRead;
        this.inflight = end;
        return all.subarray(0, end);
      }
      this.inflight = end;
      return buf.subarray(0, end);
    });
  }

  /** Marks n bytes (from a read()) as sent; truncates the file once everything is sent. */
  commit(n: number): Promise<void> {
    return this.run(async () => {
      if (!this.fh) return;
      this.sent = Math.min(this.size, this.sent + n);
      // A reader may commit a chunk line by line (ClickHouse): the rest of it stays in flight.
      this.inflight = Math.max(0, this.inflight - n);
      if (this.sent === this.size) {
        await this.fh.truncate(0);
        this.size = 0;
        this.sent = 0;
      }
      await this.saveOffset();
    });
  }

  /**
   * Drops the oldest unsent lines, whole lines adding up to at least `bytes`, together with the sent head
   * (free: already delivered). The chunk the sender is writing stays. Returns the lines dropped.
   */
  dropOldest(bytes: number): Promise<number> {
    return this.run(async () => {
      if (!this.fh || this.size === 0) return 0;
      const from = Math.min(this.size, this.sent + this.inflight);
      const { end, lines } = await this.lineEnd(from, from + Math.max(1, bytes));
      await this.rewrite(from, end);
      this.prunedLines += lines;
      return lines;
    });
  }

  /** The end of the line holding byte `at - 1` (or the file's end) and the lines from `from` to it. */
  private async lineEnd(from: number, at: number): Promise<{ end: number; lines: number }> {
    const buf = Buffer.alloc(Math.min(1 << 20, Math.max(1, this.size - from)));
    let lines = 0;
    for (let pos = from; pos < this.size;) {
      const { bytesRead } = await this.fh!.read(buf, 0, Math.min(buf.length, this.size - pos), pos);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(0x0a); i >= 0 && i < bytesRead; i = buf.indexOf(0x0a, i + 1)) {
        lines++;
        if (pos + i + 1 >= at) return { end: pos + i + 1, lines };
      }
      pos += bytesRead;
    }
    return { end: this.size, lines };
  }

  /**
   * Rewrites the spool without its sent head and without the bytes [cutFrom, cutTo) (nothing more when
   * they are equal to the size): what is kept goes to a new file that replaces the spool.
   */
  private async rewrite(cutFrom: number, cutTo: number): Promise<void> {
    const tmp = this.file + '.tmp';
    const out = await open(tmp, 'w', 0o600);
    try {
      const buf = Buffer.alloc(Math.min(1 << 20, Math.max(1, this.size - this.sent)));
      const copy = async (a: number, b: number): Promise<void> => {
        for (let pos = a; pos < b;) {
          const { bytesRead } = await this.fh!.read(buf, 0, Math.min(buf.length, b - pos), pos);
          if (bytesRead === 0) break;
          await out.write(buf, 0, bytesRead);
          pos += bytesRead;
        }
      };
      await copy(this.sent, cutFrom);
      await copy(cutTo, this.size);
    } finally {
      await out.close();
    }
    // Offset 0 first: a crash before the rename resends the sent head (at least once), never skips lines.
    const left = cutFrom - this.sent + (this.size - cutTo);
    this.sent = 0;
    await this.saveOffset();
    await rename(tmp, this.file);
    await this.fh!.close();
    this.fh = await open(this.file, 'a+', 0o600);
    this.size = left;
    this.compactions++;
  }

  private async saveOffset(): Promise<void> {
    const tmp = this.offsetFile + '.tmp';
    await writeFile(tmp, String(this.sent), { mode: 0o600 });
    await rename(tmp, this.offsetFile);
  }

  /** Resolves when every queued operation (appends included) is done. */
  idle(): Promise<void> {
    return this.run(async () => {});
  }

  /** Waits for queued operations, then closes the file (what is unsent stays for the next run). */
  async close(): Promise<void> {
    await this.run(async () => {
      await this.fh?.close();
      this.fh = undefined;
    });
  }
}

/** Share of the spool the quota drops in one step: it checks between steps whether that was enough. */
const PRUNE_STEP = 1 / 4;

/**
 * The spool as a part of the data dir's quota. What it holds waits to be sent now, so it counts as today's
 * attacker data: the quota takes from it only after every older day and the parts before it, and then the
 * oldest lines first, a quarter of the spool at a time, counted in disk_pruned_<name>_lines_total.
 */
export function spoolPart(spool: DiskSpool, name: string, stats: Stats): DiskPart {
  return {
    name,
    bytes: () => spool.fileBytes(),
    oldest: (tier) => (tier === 'data' && spool.fileBytes() > 0 ? Date.now() : undefined),
    prune: async (tier, before, enough) => {
      if (tier !== 'data' || before <= Date.now()) return;
      while (!enough() && spool.fileBytes() > 0) {
        const had = spool.fileBytes();
        const lines = await spool.dropOldest(Math.ceil(had * PRUNE_STEP));
        if (lines) stats.inc(`disk_pruned_${name}_lines_total`, lines);
        if (spool.fileBytes() >= had) break; // only the chunk being sent is left
      }
    },
  };
}
