// A bounded, ordered, on-disk queue of text lines for a sender whose receiver may be down. Lines are
// appended to one file; the sender reads from the committed offset and commits what it sent. When all is
// sent the file is truncated. Unsent bytes never exceed maxBytes: lines that would are dropped (the newest,
// so what waits keeps its order) and counted. The offset is kept in a side file so a restart resumes.
// Every file operation is async and serialized on one promise chain: the event loop never waits on disk.
import { mkdir, open, readFile, writeFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

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
    // A torn last line (crash mid-append) would glue onto the next one: end it.
    if (this.size > 0) {
      const last = Buffer.alloc(1);
      await this.fh.read(last, 0, 1, this.size - 1);
      if (last[0] !== 0x0a) {
        await this.fh.appendFile('\n');
        this.size++;
      }
    }
  }

  /** Bytes waiting to be sent. */
  pending(): number {
    return this.size - this.sent;
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
      let room = this.maxBytes - this.pending();
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
        return all.subarray(0, end);
      }
      return buf.subarray(0, end);
    });
  }

  /** Marks n bytes (from a read()) as sent; truncates the file once everything is sent. */
  commit(n: number): Promise<void> {
    return this.run(async () => {
      if (!this.fh) return;
      this.sent = Math.min(this.size, this.sent + n);
      if (this.sent === this.size) {
        await this.fh.truncate(0);
        this.size = 0;
        this.sent = 0;
      }
      await this.saveOffset();
    });
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
